"""Landing variants for A/B tests: which one a recipient gets, and what it says."""

from __future__ import annotations

from purl.models import Campaign


def variant_keys(campaign: Campaign) -> list[str]:
    """The campaign's variant keys in its order (the first is the control); empty: no test."""
    return [v["key"] for v in (campaign.variants or []) if v.get("key")]


def pick_variant(keys: list[str], ordinal: int) -> str | None:
    """The variant of a campaign's ``ordinal``-th recipient (0-based), in minting order.

    Round-robin: deterministic, and as even as a split can be, however the recipients were
    minted (one by one, or a million in a batch).
    """
    return keys[ordinal % len(keys)] if keys else None


def landing_copy(campaign: Campaign, variant: str | None) -> tuple[str, str]:
    """(headline, message) a landing page shows for ``variant``: its own, else the campaign's."""
    for entry in campaign.variants or []:
        if entry.get("key") == variant:
            return (entry.get("headline") or campaign.headline,
                    entry.get("message") or campaign.message)
    return campaign.headline, campaign.message

