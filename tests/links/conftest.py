"""Fixtures the recipient-list tests share."""

from __future__ import annotations

import pytest

from purl.extensions import db
from purl.models import Campaign


@pytest.fixture
def campaign(app) -> int:  # noqa: ANN001
    """A German du campaign ("herbst") to mint lists into; its id."""
    with app.app_context():
        c = Campaign(slug="herbst", name="Herbst", quiz_slug="zoohandlung", locale="de",
                     tone="du", variants=[])
        db.session.add(c)
        db.session.commit()
        return c.id
