"""Console settings an admin changes: the defaults a new campaign starts with."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from purl.models import Setting

CAMPAIGN_DEFAULTS = "campaign_defaults"
DEFAULT_FIELDS = ("quiz_slug", "locale", "tone", "utm_source", "utm_medium")


def campaign_defaults(session: Session) -> dict[str, Any]:
    """What the new-campaign form is filled with; empty values left out."""
    row = session.get(Setting, CAMPAIGN_DEFAULTS)
    stored = row.value if row and isinstance(row.value, dict) else {}
    return {k: v for k, v in stored.items() if k in DEFAULT_FIELDS and v}


def save_campaign_defaults(session: Session, data: dict[str, Any]) -> None:
    """Store the defaults (only flushes); blank texts are stored as unset."""
    value = {k: (data.get(k) or "").strip() or None for k in DEFAULT_FIELDS}
    row = session.get(Setting, CAMPAIGN_DEFAULTS)
    if row is None:
        session.add(Setting(key=CAMPAIGN_DEFAULTS, value=value))
    else:
        row.value = value
    session.flush()
