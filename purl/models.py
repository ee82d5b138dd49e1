"""The data model (SQLAlchemy 2.0 typed mappings).

Every schema change is an Alembic migration in ``migrations/``; a test proves the two agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from purl.extensions import db

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT for the
# tables that grow to millions of rows.
BigId = BigInteger().with_variant(Integer, "sqlite")


def BytewiseString(length: int) -> String:  # noqa: N802 (reads as a type)
    """Text compared byte by byte, for random ids and codes and for code words such as a
    channel: they have no language to sort by, and on PostgreSQL the database's default
    collation costs every index comparison a locale lookup. SQLite compares bytes anyway."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class User(db.Model):
    """A marketer who signs in to the console (Flask-Login reads the four members below)."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="marketer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Part of every console session; a new value (sign-out, deactivation, role change) ends
    # all sessions of this user, even copies of the cookie.
    session_nonce: Mapped[str | None] = mapped_column(String(32))

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Campaign(db.Model):
    """A mailing or print run whose recipients each get a personal link."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    quiz_slug: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    # "du" or "sie": how the salutation and the copy address the shopper.
    tone: Mapped[str] = mapped_column(String(8), default="du")
    headline: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    base_url: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    offer_code: Mapped[str | None] = mapped_column(String(64))
    offer_text: Mapped[str | None] = mapped_column(Text)
    # Landing variants for A/B tests: [{"key": "a", "headline": "…", "message": "…"}, …].
    # Empty means one landing page (headline and message above).
    variants: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # The showroom as the marketer curates it (purl.catalog.curation): heading, intro,
    # pinned and excluded products (SKU and id), products per page.
    # (A server default: rows written by older code, and their tests, need not name it.)
    showroom: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))
    # Offers by rule (purl.campaigns.offers): codes and texts for shoppers whose answers or
    # CRM attributes match, tried in order before the campaign's own offer.
    offers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default=text("'[]'"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The period the campaign runs (mail-out to last expected response), for the funnel.
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    # Who manages it and its sharing (purl.campaigns.access); None: admins only.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)

    # A quiz version the campaign keeps to (purl.quiz.versions); None: its quiz's latest
    # published version.
    pinned_quiz_version_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_version.id"))
    # Events of this campaign older than this many days are purged (None: the install's
    # PURL_EVENT_RETENTION_DAYS; 0: kept for ever). The funnel's tallies stay.
    event_retention_days: Mapped[int | None] = mapped_column(Integer)

    owner: Mapped[User | None] = relationship()


class Team(db.Model):
    """A group of users a campaign can be shared with at once; admins keep the list."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    users: Mapped[list[User]] = relationship(secondary="team_member", order_by="User.email",
                                             viewonly=True)


class TeamMember(db.Model):
    __tablename__ = "team_member"
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class CampaignMember(db.Model):
    """A campaign shared with a user or a team, as ``viewer`` or ``editor``."""

    __tablename__ = "campaign_member"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="user_or_team"),
        CheckConstraint("role IN ('viewer', 'editor')", name="role"),
        # One row per user or team: sharing again changes the role.
        UniqueConstraint("campaign_id", "user_id", name="uq_campaign_member_user"),
        UniqueConstraint("campaign_id", "team_id", name="uq_campaign_member_team"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                                index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                                index=True)
    role: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()


class Batch(db.Model):
    """One upload of a recipient list; its state lives here so any worker can report it."""

    __tablename__ = "batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    input_sha256: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    minted: Mapped[int] = mapped_column(Integer, default=0)
    reused: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Of the reused: known people whose details (names, salutation, …) the list corrected.
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Rows minted but worth a look (a phone number as a name): {"count": N, "rows": [the
    # first 200 as {"row", "column", "value", "reason"}]}, for the console's results page.
    warnings: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A run's last sign of life: set when it starts and at every commit of its rows.
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A batch run as a job (purl.jobs): what to run, so any worker can (re-)run it, the lists
    # in and out as stored files any machine reads, and how often it was queued again after
    # its worker went silent (its lease, ``updated_at``, ran out).
    options: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    input_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    output_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    errors_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    qr_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # A run commits every 100,000 rows, far more often than this, even while it draws QR codes.
    STALL_AFTER = dt.timedelta(minutes=10)
    # A job's worker renews its lease every ~10 s: three missed beats mean it is gone.
    INTERRUPTED_AFTER = dt.timedelta(seconds=30)

    def _silent_for(self, now: dt.datetime | None) -> dt.timedelta | None:
        if self.status not in ("queued", "running"):
            return None
        seen = as_utc(self.updated_at or self.created_at)
        return None if seen is None else (now or utcnow()) - seen

    def stalled(self, now: dt.datetime | None = None) -> bool:
        """A ``purl generate`` run silent for too long: its process was stopped (a restart, a
        killed command). Nothing is lost; running the list again finishes it. (A job is never
        stalled: the next worker takes it over, see ``interrupted``.)"""
        silent = self._silent_for(now)
        return self.options is None and silent is not None and silent > self.STALL_AFTER

    def interrupted(self, now: dt.datetime | None = None) -> bool:
        """A job whose worker went silent (killed, restarted): it goes on by itself as soon as
        a worker runs, from where it was."""
        silent = self._silent_for(now)
        return (self.options is not None and self.status == "running" and silent is not None
                and silent > self.INTERRUPTED_AFTER)


class Recipient(db.Model):
    """One person on a campaign's list, holding one personal link per channel.

    The signed link carries the recipient's typeable ``code``: random, opaque, and already
    unique, so one index serves both the link and the printed letter. Links minted before
    that carry a ``public_id`` instead, which such rows keep so those links go on working.
    """

    __tablename__ = "recipient"
    __table_args__ = (
        # Re-running a list must never mint a second link for the same person.
        UniqueConstraint("campaign_id", "channel", "identity", name="uq_recipient_identity"),
        # Partial: new rows leave it empty, and an index entry per row costs a bulk insert.
        Index("uq_recipient_public_id", "public_id", unique=True,
              sqlite_where=text("public_id IS NOT NULL"),
              postgresql_where=text("public_id IS NOT NULL")),
        # The links table pages by id within the campaign and searches by prefix of these
        # lower-cased columns (migration 0015; compared in the C collation on PostgreSQL).
        Index("ix_recipient_campaign_order", "campaign_id", "id"),
        *(Index(f"ix_recipient_search_{column}", "campaign_id", text(f"lower({column})"))
          for column in ("first_name", "last_name", "email", "external_id")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    # The batch that minted the link. Neither indexed nor a foreign key: nothing looks
    # recipients up by batch, batches are never deleted, and checking the key row by row
    # cost PostgreSQL a fifth of a million-row batch.
    batch_id: Mapped[int | None] = mapped_column(Integer)
    public_id: Mapped[str | None] = mapped_column(BytewiseString(32))
    code: Mapped[str | None] = mapped_column(BytewiseString(16), unique=True)
    identity: Mapped[str] = mapped_column(BytewiseString(128))
    channel: Mapped[str] = mapped_column(BytewiseString(16), default="email")
    external_id: Mapped[str | None] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    # "f", "m", "d" (diverse) or None when unknown: drives the salutation.
    gender: Mapped[str | None] = mapped_column(String(1))
    title: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variant: Mapped[str | None] = mapped_column(String(32))
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    campaign: Mapped[Campaign] = relationship()

    @property
    def link_key(self) -> str:
        """What the recipient's signed link carries (see the class)."""
        return self.key_of(self.public_id, self.code)

    @staticmethod
    def key_of(public_id: str | None, code: str | None) -> str:
        """The link key from a row's two columns, for code that reads them without the ORM."""
        key = public_id or code
        assert key is not None, "every recipient has a code or, from before, a public id"
        return key


class ShopperProfile(db.Model):
    """A shopper's stated preferences: tied to a recipient, or to an anonymous visitor."""

    __tablename__ = "shopper_profile"
    __table_args__ = (
        CheckConstraint(
            "recipient_id IS NOT NULL OR visitor_id IS NOT NULL", name="has_owner"
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id"), unique=True)
    # SHA-256 of the visitor cookie, so a database leak does not hand out live cookies.
    visitor_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    consent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    recipient: Mapped[Recipient | None] = relationship()


class QuizResponse(db.Model):
    """A profile's answers to one quiz, saved as each answer is given."""

    __tablename__ = "quiz_response"
    __table_args__ = (UniqueConstraint("profile_id", "quiz_slug", name="uq_quiz_response"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("shopper_profile.id"))
    quiz_slug: Mapped[str] = mapped_column(String(64))
    # Content hash of the quiz file the answers were given to.
    quiz_version: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    profile: Mapped[ShopperProfile] = relationship()


class Catalog(db.Model):
    """A shop's products. An install holds several (one per shop); each quiz, and so each
    campaign, draws from one, and a SKU is unique within its catalog only."""

    __tablename__ = "catalog"
    id: Mapped[int] = mapped_column(primary_key=True)
    # What the CLI's ``--catalog`` and a quiz file's ``catalog:`` name it by.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    # How the shop's files write its categories, product types and tags, by key ({"tags":
    # {"ip44": "IP44"}}): the showroom's filters show these, not the stored keys.
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CatalogImport(db.Model):
    """A catalog file uploaded in the console and imported by a job (``purl.catalog.jobs``):
    what to import and how, its progress and its outcome, so any worker can run it and any
    web process can show it."""

    __tablename__ = "catalog_import"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The catalog to import into, by name: made when the import runs if it is new.
    catalog_name: Mapped[str] = mapped_column(String(64))
    catalog_title: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(255))
    input_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    # uploaded -> queued -> running -> done | failed
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    # What the marketer chose: format, mapping, currency, shop_url, url_pattern, sheet, full.
    options: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    format: Mapped[str] = mapped_column(String(16), default="")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    products_total: Mapped[int] = mapped_column(Integer, default=0)
    products_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    marked_unavailable: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # Every skipped row with its reason, as a stored CSV (row, reason, msgid, params).
    skipped_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    # Why it failed: {"msgid", "params"} (purl.catalog.imports.Reason.stored).
    error: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                    index=True)
    # A run's last sign of life (its lease): set when it starts and at every chunk it commits.
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Product(db.Model):
    """A catalog product; prices are exact decimals in ``currency``."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("catalog_id", "sku", name="uq_product_catalog_sku"),
        # The showroom counts, facets and ranks from these alone (covering: SQLite keeps the
        # row id in every index, PostgreSQL includes it), by category first or by type first.
        Index("ix_product_pick", "catalog_id", "available", "category", "product_type",
              "price", "sku", postgresql_include=["id"]),
        Index("ix_product_rank", "catalog_id", "available", "product_type", "category",
              "price", "sku", postgresql_include=["id"]),
        # The showroom cache's catalog version is max(updated_at) of one catalog: an index
        # lookup.
        Index("ix_product_catalog_updated", "catalog_id", "updated_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # None named: the default catalog (as everywhere a catalog is not named).
    catalog_id: Mapped[int] = mapped_column(
        ForeignKey("catalog.id"),
        default=select(Catalog.id).where(Catalog.name == "default").scalar_subquery())
    sku: Mapped[str] = mapped_column(String(255))  # Shopify handles: 255
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64))
    product_type: Mapped[str] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(120))
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # None: "Preis auf Anfrage"
    compare_at_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    image_url: Mapped[str | None] = mapped_column(String(1000))
    url: Mapped[str] = mapped_column(String(1000))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ProductTag(db.Model):
    """A product's tags, one row each, so tag filters are indexed lookups."""

    __tablename__ = "product_tag"
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Event(db.Model):
    """One step of a shopper's journey, for the campaign funnel. No IP address is kept."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_funnel", "campaign_id", "kind", "created_at"),
        # The export reads a campaign's events in time order, chunk after chunk (0015).
        Index("ix_event_export", "campaign_id", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id"), index=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("shopper_profile.id"), index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    variant: Mapped[str | None] = mapped_column(String(32))
    quiz_slug: Mapped[str | None] = mapped_column(String(64))
    quiz_version: Mapped[str | None] = mapped_column(String(64))
    question_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    # Seed/test recipients get working links that never count in the statistics.
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False)
    # An answer event's value as given then, as text (several options joined by "|"): the
    # export reads it here, not from the response, which holds only the latest (0019).
    answer: Mapped[str | None] = mapped_column(Text)
    # The offer code the shopper was shown at this step (an offer rule's, or the campaign's).
    offer: Mapped[str | None] = mapped_column(String(64))


class Setting(db.Model):
    """A console-wide setting an admin changes (e.g. the defaults for new campaigns)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class StoredFile(db.Model):
    """A file kept in the database (uploads, results), so a worker on any machine reads it.

    Its bytes are in ``StoredFileChunk`` rows of 1 MiB; see ``purl.files``."""

    __tablename__ = "stored_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredFileChunk(db.Model):
    __tablename__ = "stored_file_chunk"
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# --- Funnel tallies (purl.analytics.tallies): kept as events are recorded, in the event's
# transaction, so the console reads a few rows per campaign however many events there are.


class FunnelReach(db.Model):
    """A recipient's first arrival at a funnel step (``product_id`` 0), or at a product's
    click: the tallies below count each recipient once. Neither a foreign key nor extra
    indexes: only the recording of an event looks a row up, by its primary key."""

    __tablename__ = "funnel_reach"
    recipient_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(BytewiseString(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)


class FunnelTally(db.Model):
    """Recipients (seeds never) who reached a step for the first time on that UTC day."""

    __tablename__ = "funnel_tally"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(BytewiseString(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(BytewiseString(16), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" without variants
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class OfferTally(db.Model):
    """Recipients (seeds never) who reached a step for the first time while shown an offer,
    per offer code: the funnel per offer."""

    __tablename__ = "offer_tally"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(BytewiseString(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class ProductTally(db.Model):
    """Clicks on a product from a campaign's showrooms, and the recipients who clicked."""

    __tablename__ = "product_tally"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    shoppers: Mapped[int] = mapped_column(BigInteger, default=0)


class QuizProgress(db.Model):
    """How far one profile got in one quiz (``campaign_id`` 0: a visitor without a link)."""

    __tablename__ = "quiz_progress"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quiz_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    started: Mapped[bool] = mapped_column(Boolean, default=False)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The question answered last ("" before the first answer): where an unfinished quiz stopped.
    last_question: Mapped[str] = mapped_column(String(64), default="")


class QuizAnswered(db.Model):
    """A question a profile answered at least once (its answer may since have changed)."""

    __tablename__ = "quiz_answered"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quiz_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class QuizChoice(db.Model):
    """An option a profile's current answer holds (one row per option of a multiple choice),
    with the quiz version it was chosen under; what the answer tallies count."""

    __tablename__ = "quiz_choice"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    quiz_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    option: Mapped[str] = mapped_column(String(200), primary_key=True)
    quiz_version: Mapped[str] = mapped_column(String(64), default="")


class QuizTally(db.Model):
    """A quiz's counts per campaign: ``measure`` is started / completed (question ""),
    answered / stopped (per question; stopped at "" = started, answered nothing yet) or
    chosen (per question, option and quiz version). Seeds never count."""

    __tablename__ = "quiz_tally"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    quiz_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    measure: Mapped[str] = mapped_column(BytewiseString(16), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    option: Mapped[str] = mapped_column(String(200), primary_key=True)
    quiz_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StoredQuiz(db.Model):
    """A quiz as the shop keeps it: drafts and published versions (``QuizVersion``) of its
    content, and the log of what was published when (``QuizPublication``)."""

    __tablename__ = "quiz"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    # {language: text}, from the newest stored version, for lists.
    title: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[QuizVersion]] = relationship(
        back_populates="quiz", order_by="QuizVersion.number", viewonly=True)


class QuizVersion(db.Model):
    """One stored content of a quiz (its YAML text), numbered 1, 2, … per quiz.

    A draft until it is first published; from then on frozen: nothing changes its content.
    Its hash is what answers and events carry as ``quiz_version``, so an answer set is
    always read against the questions it was given to. A content is stored once per quiz."""

    __tablename__ = "quiz_version"
    __table_args__ = (
        UniqueConstraint("quiz_id", "number", name="uq_quiz_version_number"),
        UniqueConstraint("quiz_id", "content_hash", name="uq_quiz_version_content"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"))
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(BytewiseString(64), index=True)
    # Where it came from: a file's name, "console", …
    source: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    quiz: Mapped[StoredQuiz] = relationship(back_populates="versions")

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class QuizPublication(db.Model):
    """A version going live: the newest row per quiz is the version shoppers get (unless
    their campaign pins one); publishing an older version again is a roll-back."""

    __tablename__ = "quiz_publication"
    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("quiz_version.id"))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[QuizVersion] = relationship()


class ApiKey(db.Model):
    """A key a user made for the shop's tools (purl.apikeys): only its SHA-256 is kept, and
    it never reaches beyond what its creator may see."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The first characters of the key, shown in lists so a user can tell keys apart.
    prefix: Mapped[str] = mapped_column(BytewiseString(16), index=True)
    key_hash: Mapped[str] = mapped_column(BytewiseString(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # False: only the campaigns in api_key_campaign.
    all_campaigns: Mapped[bool] = mapped_column(Boolean, default=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
    campaigns: Mapped[list[Campaign]] = relationship(secondary="api_key_campaign",
                                                     order_by="Campaign.slug", viewonly=True)


class ApiIdempotency(db.Model):
    """A write sent with an ``Idempotency-Key`` and what it answered, so the same key and
    body answer the same again (a retry after a timeout mints nothing new); kept a day."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(BytewiseString(255))
    # The method, path and SHA-256 of the body: another request under the same key is a 422.
    fingerprint: Mapped[str] = mapped_column(BytewiseString(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                    index=True)


class ApiKeyCampaign(db.Model):
    __tablename__ = "api_key_campaign"
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"),
                                            primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True, index=True)


class Erasure(db.Model):
    """Who erased which recipient and when (GDPR art. 17), without anything erased: the
    recipient row it names holds no personal data any more."""

    __tablename__ = "erasure"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(BigId, index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    # The console user's email, "cli" or "api:<key name>": the marketer, never the shopper.
    erased_by: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    erased_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LinkTally(db.Model):
    """The links of a campaign per channel, variant and seed flag: minted, and how many of
    them are revoked (``purl.analytics.link_tally``)."""

    __tablename__ = "link_tally"
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(BytewiseString(16), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" without variants
    is_seed: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    links: Mapped[int] = mapped_column(BigInteger, default=0)
    revoked: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookEndpoint(db.Model):
    """Where the shop's tools want purl's events (purl.webhooks): for one campaign, or for
    every campaign of the install (``campaign_id`` None; admins only)."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # The Standard Webhooks secret, "whsec_" and base64: kept as given, it signs every body.
    secret: Mapped[str] = mapped_column(String(100))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The event types it wants ("quiz.completed", …); empty: every type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why it was switched off: "gone" (it answered 410), "user"; None while enabled.
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    campaign: Mapped[Campaign | None] = relationship()


class WebhookMessage(db.Model):
    """One event for the shop's tools, written in the transaction that recorded it (the
    outbox); its body is fixed here, so every attempt signs the same bytes."""

    __tablename__ = "webhook_message"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The webhook-id header: the same on every attempt and replay, so a receiver can dedupe.
    uid: Mapped[str] = mapped_column(BytewiseString(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id",
                                                               ondelete="CASCADE"), index=True)
    # Whose event it tells of, so erasing a recipient deletes it (no foreign key: erasure
    # keeps the recipient row, and a message may outlive nothing else).
    recipient_id: Mapped[int | None] = mapped_column(BigId, index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(db.Model):
    """One message to one endpoint: pending until delivered, or failed once its attempts
    ran out (or the endpoint answered 410)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The worker's question, every poll: what is due now?
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_message.id",
                                                       ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id",
                                                        ondelete="CASCADE"))
    # "pending", "delivered", "failed".
    status: Mapped[str] = mapped_column(BytewiseString(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                         default=utcnow)
    # A worker sending it holds it until then; a killed worker's lease runs out.
    leased_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)  # the HTTP status, if any
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    message: Mapped[WebhookMessage] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(db.Model):
    """One try at a delivery, for the console's delivery log."""

    __tablename__ = "webhook_attempt"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id",
                                                        ondelete="CASCADE"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    milliseconds: Mapped[int] = mapped_column(Integer, default=0)
