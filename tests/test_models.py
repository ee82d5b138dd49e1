"""The schema: migrations and models agree, and the constraints hold on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from purl.extensions import db
from purl.links import codes, tokens
from purl.links.recipients import NewRecipient, mint
from purl.models import Campaign, Recipient, ShopperProfile, User
from tests.conftest import TEST_KEYS


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
        duplicate = Recipient(campaign_id=campaign.id, code="X" * 13,
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


def _old_campaign(slug: str) -> int:
    """A campaign as a database from before 0010 holds it (no owner column yet)."""
    table = Campaign.__table__
    db.session.execute(insert(table).values(slug=slug, name=slug.upper(),
                                            quiz_slug="zoohandlung", variants=[]))
    return db.session.scalar(select(table.c.id).where(table.c.slug == slug))


def test_links_minted_before_the_code_was_the_key_keep_working(make_app, empty_database):
    """Upgrading a database whose recipients carry public ids (and are referred to by
    profiles and events) keeps their links, and new links carry the code."""
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    cli = app.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade", "0007"]).exit_code == 0
    old_id, code = "AbCdEfGh0123456789abcdef", codes.new_code()
    with app.app_context():
        # Recipients have all the model's columns at 0007; campaigns get owners only later.
        campaign_id = _old_campaign("c")
        anna = Recipient(campaign_id=campaign_id, public_id=old_id, code=code,
                         identity="email:anna@example.org", channel="email",
                         first_name="Anna", attributes={})
        db.session.add(anna)
        db.session.flush()
        db.session.add(ShopperProfile(recipient_id=anna.id))
        db.session.commit()
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    old_link = client.get("/p/" + tokens.sign(old_id, TEST_KEYS))
    assert old_link.status_code == 200 and "Anna" in old_link.get_data(as_text=True)
    assert client.get("/c/" + codes.display(code).lower()).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShopperProfile)) == 1
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
        campaign = db.session.scalar(select(Campaign))
        new = mint(db.session, campaign, [NewRecipient(first_name="Ben", email="ben@x.de")])[0]
        db.session.commit()
        assert new.public_id is None and new.link_key == new.code
        token = tokens.sign(new.link_key, TEST_KEYS)
    assert "Ben" in client.get("/p/" + token).get_data(as_text=True)


def test_upgrading_gives_existing_campaigns_to_the_oldest_admin(make_app, empty_database):
    """Before 0010 every marketer saw every campaign; afterwards a campaign is its owner's
    (and the admins'). Nobody recorded who created one, so the oldest active admin gets them."""
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    cli = app.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade", "0009"]).exit_code == 0
    users = User.__table__
    with app.app_context():
        for email, role, active, year in (
                ("first@shop.example", "marketer", True, 2019),  # oldest, but no admin
                ("gone@shop.example", "admin", False, 2019),  # deactivated
                ("boss@shop.example", "admin", True, 2020),
                ("later@shop.example", "admin", True, 2021)):
            db.session.execute(insert(users).values(
                email=email, password_hash="x", role=role, active=active,
                created_at=dt.datetime(year, 1, 1, tzinfo=dt.UTC)))
        for slug in ("winter", "sommer"):
            _old_campaign(slug)
        db.session.commit()
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        boss = db.session.scalar(select(User.id).where(User.email == "boss@shop.example"))
        owners = dict(db.session.execute(select(Campaign.slug, Campaign.owner_id)).all())
        assert owners == {"winter": boss, "sommer": boss}
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    # And back: the downgrade drops what 0010 added.
    assert cli.invoke(args=["db", "downgrade", "0009"]).exit_code == 0


def test_without_an_admin_upgraded_campaigns_stay_ownerless(make_app, empty_database):
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    cli = app.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade", "0009"]).exit_code == 0
    with app.app_context():
        _old_campaign("winter")
        db.session.commit()
    assert cli.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(Campaign.owner_id)) is None  # admins only
