"""Campaigns, the central noun: settings, tone, landing variants, defaults, link base."""
