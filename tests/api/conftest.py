"""An install with two campaigns of one marketer, an admin's own, and keys of every kind."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from purl import apikeys
from purl.accounts import create_user
from purl.campaigns.records import create_campaign
from purl.extensions import db
from purl.models import User
from tests.conftest import ADMIN, MARKETER

CAMPAIGN = {"name": "A", "quiz_slug": "zoohandlung", "locale": "de", "tone": "du"}


@dataclass
class Keys:
    """Secrets of the marketer's keys: every campaign, only A, read-only, revoked; and the
    admin's."""

    all: str
    scoped_a: str
    read_only: str
    revoked: str
    admin: str


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api_app(make_app) -> Flask:  # noqa: ANN001
    return make_app(API_RATE_LIMIT="10000 per minute")


@pytest.fixture
def keys(api_app: Flask) -> Keys:
    with api_app.app_context():
        admin = create_user(db.session, ADMIN, "admin password 123", "admin")
        marketer = create_user(db.session, MARKETER, "marketer password 123")
        a = create_campaign(db.session, "camp-a", {**CAMPAIGN, "name": "A"}, owner=marketer)
        create_campaign(db.session, "camp-b", {**CAMPAIGN, "name": "B"}, owner=marketer)
        create_campaign(db.session, "admins-own", {**CAMPAIGN, "name": "Admins"}, owner=None)
        made = Keys(
            all=apikeys.create_key(db.session, marketer, "CRM")[1],
            scoped_a=apikeys.create_key(db.session, marketer, "A only", [a])[1],
            read_only=apikeys.create_key(db.session, marketer, "reader", read_only=True)[1],
            revoked="",
            admin=apikeys.create_key(db.session, admin, "admin")[1],
        )
        gone, made.revoked = apikeys.create_key(db.session, marketer, "old")
        apikeys.revoke_key(gone)
        db.session.commit()
        assert db.session.get(User, marketer.id) is not None
    return made


@pytest.fixture
def api(api_app: Flask, keys: Keys) -> FlaskClient:
    return api_app.test_client()


def new_recipient(client: FlaskClient, secret: str, slug: str, **fields: object):  # noqa: ANN201
    return client.post(f"/api/v1/campaigns/{slug}/recipients", headers=bearer(secret),
                       json={"first_name": "Anna", "gender": "f", **fields})
