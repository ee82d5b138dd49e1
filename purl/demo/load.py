"""The demo shop: a German pet shop ("Zoohandlung") with a campaign and a few recipients.

Loading is idempotent: products are upserted by sku, the campaign by slug, recipients by
identity, the demo user (an admin, who owns the demo campaigns) by email, and the shipped
quiz files are imported and published (a text stored already stores nothing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from purl.accounts import create_user
from purl.campaigns.records import create_campaign
from purl.catalog import catalogs
from purl.catalog.store import upsert_products
from purl.demo.catalog import demo_products
from purl.demo.coffee import coffee_products
from purl.links.recipients import NewRecipient, mint
from purl.models import Campaign, Catalog, Product, Recipient, User
from purl.quiz import versions

log = logging.getLogger(__name__)

DEMO_CAMPAIGN = "winter-2026"
DEMO_QUIZ = "zoohandlung"
COFFEE_CATALOG = "roestwerk"  # the roaster's quiz names it (catalog: roestwerk)
DEMO_USER = "demo@purl.example"
DEMO_PASSWORD = "zoohandlung-demo"
# The quiz files that ship with purl (the app's QUIZ_FOLDER by default).
SHIPPED_QUIZZES = Path(__file__).resolve().parents[2] / "quizzes"
# Campaigns the quizzes' visitor_campaign names: visitors' own links are minted into these.
VISITOR_CAMPAIGNS = (
    ("zoohandlung-web", "Zoohandlung – Besucher-Links", "zoohandlung"),
    ("roestwerk-web", "Röstwerk – Besucher-Links", "roestwerk"),
)
# A CRM column that answers a quiz question (progressive profiling), for one demo recipient.
DEMO_ATTRIBUTES = {"Björn": {"Haustier": "Katze"}}

DEMO_RECIPIENTS = (
    NewRecipient(first_name="Anna", last_name="Schäfer", gender="f",
                 email="anna.schaefer@example.org", external_id="K-10001"),
    NewRecipient(first_name="Jürgen", last_name="Müller", gender="m",
                 email="juergen.mueller@example.org", external_id="K-10002"),
    NewRecipient(first_name="Ayşe", last_name="Şahin", gender="f", title="Dr.",
                 email="ayse.sahin@example.org", external_id="K-10003"),
    NewRecipient(first_name="Kim", last_name="Weiß", gender="d",
                 email="kim.weiss@example.org", external_id="K-10004"),
    NewRecipient(first_name="Björn", last_name="Groß", gender="m",
                 email="bjoern.gross@example.org", external_id="K-10005"),
)


@dataclass(frozen=True)
class DemoSummary:
    products_created: int
    products_updated: int
    campaign: Campaign
    recipients: list[Recipient]
    quizzes: list[versions.Imported] = field(default_factory=list)


def load_demo(session: Session, static_url: str = "/static/",
              quiz_folder: Path = SHIPPED_QUIZZES) -> DemoSummary:
    """Load (or refresh) the demo shop; only flushes."""
    # Two shops, a catalog each: the pet shop's is the default one, the roaster's its own.
    pets = catalogs.named(session, catalogs.DEFAULT)
    coffee = session.scalar(select(Catalog).where(Catalog.name == COFFEE_CATALOG))
    if coffee is None:
        coffee = catalogs.ensure(session, COFFEE_CATALOG, "Röstwerk")
        # A demo loaded before there were catalogs keeps its coffee in the default one:
        # moved (with their clicks), not copied.
        skus = [product["sku"] for product in coffee_products()]
        session.execute(update(Product).where(Product.catalog_id == pets.id,
                                              Product.sku.in_(skus))
                        .values(catalog_id=coffee.id))
    # The campaigns below name these quizzes: they are there, and published, first.
    quizzes = versions.import_files(session, [quiz_folder], publish=True)
    created = updated = 0
    for catalog, products in ((pets, demo_products()), (coffee, coffee_products())):
        rows = []
        for product in products:
            row = dict(product)
            row["image_url"] = static_url + row.pop("image")
            rows.append(row)
        made, changed = upsert_products(session, rows, catalog)
        created, updated = created + made, updated + changed

    # The demo admin owns the demo campaigns (admins see every campaign anyway; a marketer
    # added later sees them once they are shared).
    owner = session.scalar(select(User).where(User.email == DEMO_USER))
    if owner is None:
        owner = create_user(session, DEMO_USER, DEMO_PASSWORD, role="admin")

    campaign = session.scalar(select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN))
    if campaign is None:
        campaign = create_campaign(session, DEMO_CAMPAIGN, {
            "name": "Winter 2026 – Stammkunden",
            "quiz_slug": DEMO_QUIZ,
            "locale": "de",
            "tone": "du",
            "headline": "Dein Wintervorrat, persönlich ausgesucht",
            "message": (
                "Schön, dass du wieder da bist! Beantworte uns ein paar kurze Fragen, und wir "
                "stellen dir eine Auswahl zusammen, die zu dir und deinem Tier passt."
            ),
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "winter-2026",
            "offer_code": "WINTER15",
            "offer_text": "15 % auf deine erste Bestellung aus dieser Auswahl, bis 31.12.2026.",
        }, owner=owner)
    recipients = mint(session, campaign, DEMO_RECIPIENTS)
    for recipient in recipients:
        if not recipient.attributes and recipient.first_name in DEMO_ATTRIBUTES:
            recipient.attributes = DEMO_ATTRIBUTES[recipient.first_name]
    demo_campaigns = [campaign]
    for slug, name, quiz_slug in VISITOR_CAMPAIGNS:
        visitors = session.scalar(select(Campaign).where(Campaign.slug == slug))
        if visitors is None:
            visitors = create_campaign(session, slug, {
                "name": name, "quiz_slug": quiz_slug, "locale": "de", "tone": "du",
                "utm_source": "quiz", "utm_medium": "web"}, owner=owner)
        demo_campaigns.append(visitors)
    for demo_campaign in demo_campaigns:
        if demo_campaign.owner_id is None:  # loaded before campaigns had owners
            demo_campaign.owner_id = owner.id
    session.flush()
    return DemoSummary(created, updated, campaign, recipients, quizzes)
