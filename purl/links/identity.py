"""Who a recipient is within a campaign: the one rule the batch, the console's column
mapping and single mints share.

A person is their customer id, else their email address (case does not matter), else the
content of their row (name and company, plus the other columns when the caller has them), so
two Anna Müllers at different addresses stay two people.
"""

from __future__ import annotations

import hashlib

# The fields that can tell one recipient from another; without one of them no row names anyone.
IDENTIFYING = ("external_id", "email", "first_name", "last_name", "company")
IDENTITY_LIMIT = 128


def identity_for(external_id: str, email: str, first: str, last: str, company: str,
                 extra: str = "") -> str:
    """Who a row is within a campaign: external id, else email, else the row's content."""
    if external_id:
        identity = "id:" + external_id
    elif email:
        identity = "email:" + email.lower()
    else:
        content = "\x1f".join((first, last, company)).strip().lower() + extra
        return "row:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    if len(identity) > IDENTITY_LIMIT:  # fits the column, stays unique
        identity = identity[:identity.index(":") + 1] + hashlib.sha256(
            identity.encode()).hexdigest()
    return identity


VISITOR_PREFIX = "visitor-"


def visitor_external_id(profile_id: int) -> str:
    """The external id a visitor's own link is minted under (a visitor without a link who
    left their email): per profile rather than per email address, as typing someone else's
    address must never show that person's link."""
    return f"{VISITOR_PREFIX}{profile_id}"


def visitor_profile_id(external_id: str | None, channel: str) -> int | None:
    """The visitor profile a link was minted for, or None for any other recipient."""
    if channel != "web" or not (external_id or "").startswith(VISITOR_PREFIX):
        return None
    number = external_id.removeprefix(VISITOR_PREFIX)
    return int(number) if number.isdigit() and len(number) < 19 else None
