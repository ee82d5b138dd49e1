"""The shopper's journey context, shared by the landing, quiz and showroom views.

A shopper arrives either through a signed PURL (``/p/<token>/…``) or anonymously through a
quiz (``/q/<quiz-slug>/…``, tied to a first-party visitor cookie). Both resolve to a
:class:`Journey`, and every personal URL is built from it, so a view never mixes contexts and a
token only ever reaches its own recipient's data.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import abort, after_this_request, current_app, g, request, url_for
from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import IntegrityError

from purl.campaigns import offers
from purl.extensions import db
from purl.links import recipients as links
from purl.links import tokens
from purl.links.salutation import salutation_line
from purl.models import Campaign, QuizResponse, Recipient, ShopperProfile
from purl.quiz import flow as quiz_logic
from purl.quiz import versions
from purl.quiz.schema import Quiz

LANGUAGE_COOKIE = "purl_lang"  # a visitor's own choice of language
VISITOR_COOKIE = "purl_visitor"
VISITOR_COOKIE_DAYS = 180


@dataclass
class Journey:
    quiz: Quiz
    url_args: dict[str, str]
    locale: str
    campaign: Campaign | None = None
    recipient: Recipient | None = None
    profile: ShopperProfile | None = None
    response: QuizResponse | None = None
    visitor_key: str | None = field(default=None, repr=False)
    tone: str = "du"  # du or Sie, for every text on the journey's pages (see speak_in)
    # A visitor's shop: the quiz's visitor campaign, whose showroom and offers they get
    # (a personal link's journey has its own campaign).
    shop: Campaign | None = None

    @property
    def showroom_campaign(self) -> Campaign | None:
        """The campaign whose curated showroom and offers this journey shows."""
        return self.campaign if self.campaign is not None else self.shop

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.response.answers or {}) if self.response else {}

    @property
    def completed(self) -> bool:
        return bool(self.response and self.response.completed_at)

    @property
    def greeting(self) -> str | None:
        if self.recipient is None or self.campaign is None:
            return None
        r = self.recipient
        return salutation_line(r.first_name, r.last_name, r.gender, r.title,
                               locale=self.campaign.locale, tone=self.tone)

    @property
    def offer(self) -> offers.Offer | None:
        """The offer this shopper is shown now: the first offer rule their CRM attributes or
        answers match, else the campaign's own."""
        attributes = getattr(self.recipient, "attributes", None)
        return offers.offer_for(self.showroom_campaign, attributes, self.answers)

    @property
    def offer_code(self) -> str | None:
        """The code an event of this step is counted under (the funnel per offer)."""
        offer = self.offer
        return offer.code if offer is not None else None

    def url(self, endpoint: str, **values: str) -> str:
        return url_for(endpoint, **self.url_args, **values)


def speak_in(journey: Journey, wanted: str | None) -> None:
    """Settle the journey's tone: the campaign's, when its quiz can say everything in it (Sie
    needs a Sie form of every text in du), else du; ``g.tone`` carries it to the templates."""
    journey.tone = journey.quiz.tone(journey.locale, wanted or "du")
    g.tone = journey.tone


def _quiz_or_404(quiz: Quiz | None) -> Quiz:
    if quiz is None:
        abort(404)
    if quiz.shop:
        # One install may serve several shops' quizzes: the header names this one's.
        g.shop_name = quiz.shop
    return quiz


def _answered_under(offered: Quiz, response: QuizResponse | None) -> Quiz:
    """The version this shopper's answers go on with (see versions.quiz_for_answers)."""
    return versions.quiz_for_answers(db.session, offered,
                                     response.quiz_version if response else None)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_BY_KEY = (
    select(Recipient, Campaign, ShopperProfile, QuizResponse,
           versions.campaign_version_hash().label("quiz_version"))
    .join(Campaign, Campaign.id == Recipient.campaign_id)
    .outerjoin(ShopperProfile, ShopperProfile.recipient_id == Recipient.id)
    .outerjoin(QuizResponse, and_(QuizResponse.profile_id == ShopperProfile.id,
                                  QuizResponse.quiz_slug == Campaign.quiz_slug))
)
# Built once per kind of link key (see links.link_key_column): SQLAlchemy then reuses the
# compiled form and cache key on every request.
_JOURNEY = {
    column.key: _BY_KEY.where(column == bindparam("key"))
    for column in (Recipient.code, Recipient.public_id)
}


def done_reading() -> None:
    """End a page's read-only transaction with COMMIT rather than the ROLLBACK the session's
    close sends: psycopg forgets its prepared statements at every ROLLBACK, so PostgreSQL
    parsed and planned the journey's query afresh on every request (half a millisecond, a
    sixth of a cached showroom). Only for views that wrote nothing, after they rendered (the
    commit expires the rows they read)."""
    db.session.commit()


def recipient_or_abort(token: str) -> Recipient:
    """The recipient a followed link belongs to, or 404 (tampered/unknown) or 410
    (revoked/expired): every personal URL answers a bad token the same way."""
    try:
        return links.resolve(db.session, token, current_app.config["SECRET_KEYS"])
    except links.LinkGone:
        abort(410)
    except links.LinkNotFound:
        abort(404)


def from_token(token: str) -> Journey:
    """Resolve a followed PURL, or answer 404 (tampered/unknown) or 410 (revoked/expired).

    Every personal page starts here, so this is the hot path: one signature check and one
    query for the recipient, their campaign, profile, quiz response and the hash of the quiz
    version the campaign offers (parsed versions are cached by hash).
    """
    key = tokens.unsign(token, current_app.config["SECRET_KEYS"])
    row = key and db.session.execute(_JOURNEY[links.link_key_column(key).key],
                                     {"key": key}).first()
    if not row:
        abort(404)
    recipient, campaign, profile, response, version_hash = row
    try:
        links.check_live(recipient, campaign)
    except links.LinkGone:
        abort(410)
    g.locale = campaign.locale
    offered = _quiz_or_404(versions.campaign_quiz(db.session, campaign, version_hash)
                           if version_hash else None)
    quiz = _quiz_or_404(_answered_under(offered, response))
    journey = Journey(
        quiz=quiz, url_args={"token": token}, locale=campaign.locale,
        campaign=campaign, recipient=recipient, profile=profile,
    )
    journey.response = response
    speak_in(journey, campaign.tone)
    return journey


def from_visitor(quiz_slug: str) -> Journey:
    """An anonymous shopper taking a quiz, recognised by the first-party visitor cookie."""
    quiz = _quiz_or_404(versions.published_quiz(db.session, quiz_slug))
    if not quiz.public:
        abort(404)
    # A visitor is spoken to in the language and tone of the campaign their link would be
    # minted into (the shop's), not the browser's, unless they switch (?lang=).
    shop = quiz.visitor_campaign and db.session.scalar(
        select(Campaign).where(Campaign.slug == quiz.visitor_campaign)) or None
    locale = visitor_locale(shop.locale if shop else None)
    g.locale = locale
    key = request.cookies.get(VISITOR_COOKIE)
    profile = None
    if key:
        profile = db.session.scalar(
            select(ShopperProfile).where(ShopperProfile.visitor_id == _hash(key))
        )
    else:
        key = secrets.token_urlsafe(24)
        secure = current_app.config["SESSION_COOKIE_SECURE"]

        @after_this_request
        def _set_cookie(response):  # noqa: ANN001, ANN202
            response.set_cookie(
                VISITOR_COOKIE, key, max_age=VISITOR_COOKIE_DAYS * 86400,
                httponly=True, samesite="Lax", secure=secure,
            )
            return response

    journey = Journey(
        quiz=quiz, url_args={"quiz_slug": quiz_slug}, locale=locale,
        profile=profile, visitor_key=key, shop=shop,
    )
    journey.response = _response(profile, quiz)
    journey.quiz = _quiz_or_404(_answered_under(quiz, journey.response))
    speak_in(journey, shop.tone if shop else None)
    return journey


def visitor_locale(shop_locale: str | None) -> str:
    """A visitor's language: the one they switched to (``?lang=``, then kept in a cookie),
    else the shop's (its visitor campaign's), else the install's first."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        secure = current_app.config["SESSION_COOKIE_SECURE"]

        @after_this_request
        def _keep(response):  # noqa: ANN001, ANN202
            response.set_cookie(LANGUAGE_COOKIE, asked, max_age=365 * 86400, httponly=True,
                                samesite="Lax", secure=secure)
            return response

        return asked
    kept = request.cookies.get(LANGUAGE_COOKIE)
    if kept in languages:
        return kept
    return shop_locale if shop_locale in languages else languages[0]


def load(token: str | None, quiz_slug: str | None) -> Journey:
    return from_token(token) if token is not None else from_visitor(quiz_slug or "")


def _response(profile: ShopperProfile | None, quiz: Quiz) -> QuizResponse | None:
    if profile is None:
        return None
    return db.session.scalar(
        select(QuizResponse).where(
            QuizResponse.profile_id == profile.id, QuizResponse.quiz_slug == quiz.slug
        )
    )


def ensure_started(journey: Journey) -> QuizResponse:
    """Create the profile and the quiz response on first use (counted as quiz_start)."""
    if journey.profile is None:
        if journey.recipient is not None:
            profile = ShopperProfile(recipient_id=journey.recipient.id)
        else:
            profile = ShopperProfile(visitor_id=_hash(journey.visitor_key or ""))
        try:
            # A double click can race us to it; the unique constraint decides.
            with db.session.begin_nested():
                db.session.add(profile)
        except IntegrityError:
            column = (ShopperProfile.recipient_id == journey.recipient.id if journey.recipient
                      else ShopperProfile.visitor_id == _hash(journey.visitor_key or ""))
            profile = db.session.scalar(select(ShopperProfile).where(column))
        journey.profile = profile
    if journey.response is None:
        journey.response = quiz_logic.start(
            db.session, journey.profile, journey.quiz, journey.recipient
        )
    return journey.response
