"""The schema: migrations and models agree, and the constraints hold on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from purl.extensions import db
from purl.links.logic import NewRecipient, mint
from purl.models import Campaign, Recipient, ShopperProfile


def test_models_and_migrations_never_drift_apart(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_db_upgrade_builds_an_empty_sqlite_file(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []


def _campaign() -> Campaign:
    campaign = Campaign(slug="c", name="C", quiz_slug="zoohandlung", variants=[])
    db.session.add(campaign)
    db.session.flush()
    return campaign


def test_one_person_gets_one_link_per_channel(app):
    with app.app_context():
        campaign = _campaign()
        anna = NewRecipient(first_name="Anna", email="Anna@Example.org ")
        first = mint(db.session, campaign, [anna])
        same_email = NewRecipient(first_name="A.", email="anna@example.org")
        again = mint(db.session, campaign, [same_email])
        assert first[0].id == again[0].id
        print_link = mint(db.session, campaign, [NewRecipient(email="anna@example.org",
                                                              channel="print")])
        assert print_link[0].id != first[0].id
        db.session.commit()
        duplicate = Recipient(campaign_id=campaign.id, public_id="x" * 16,
                              identity=first[0].identity, channel="email", attributes={})
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_profile_belongs_to_someone(app):
    with app.app_context():
        db.session.add(ShopperProfile())
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
