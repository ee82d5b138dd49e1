"""Webhooks: purl's events sent to the shop's tools, signed the Standard Webhooks way.

An event worth telling (a first visit, a quiz started or completed, a product clicked, a lead
left, a batch finished) is written to an outbox (``outbox``) in the transaction that records
it, one delivery per endpoint that wants it; nothing is sent during the shopper's request. A
worker (``purl.jobs``) sends what is due (``delivery``), retries on the Standard Webhooks
schedule, and keeps every attempt for the console's delivery log. Targets are checked on
the address they resolve to at every attempt (``addresses``); redirects are never followed.

This package sits below every engine that records events, so it imports none of them.
"""

from __future__ import annotations

# Every type an endpoint may ask for; "webhook.test" is sent only when a user asks for it.
EVENT_TYPES = ("recipient.visited", "quiz.started", "quiz.completed", "product.clicked",
               "lead.created", "batch.finished")
TEST_EVENT = "webhook.test"
