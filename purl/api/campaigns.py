"""``/api/v1/campaigns``: list, get, create, update (allow-listed fields)."""

from __future__ import annotations

import logging

from flask import current_app
from spectree import Response
from sqlalchemy import select

from purl import apikeys, privacy
from purl.api import bp, current_key, spec, takes_json
from purl.api import schemas as s
from purl.api.idempotency import idempotent
from purl.api.paging import page
from purl.api.problems import ApiProblem, field_error
from purl.campaigns import access
from purl.campaigns import records as logic
from purl.extensions import db
from purl.models import Campaign, as_utc
from purl.quiz.format import get_quiz

log = logging.getLogger(__name__)
TAGS = ("campaigns",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_429": s.Problem}


def campaign_for(slug: str, right: access.Right) -> Campaign:
    """The campaign ``slug`` if the key has ``right`` on it: 404 when it cannot see it (as
    if it did not exist), 403 when it sees but may not change it."""
    camp = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    role = apikeys.role_for(db.session, current_key(), camp) if camp is not None else None
    if role is None:
        raise ApiProblem(404)
    if not access.allows(role, right):
        raise ApiProblem(403, "This key may view this campaign but not change it.")
    return camp


def campaign_out(camp: Campaign) -> s.Campaign:
    return s.Campaign(
        slug=camp.slug, name=camp.name, quiz_slug=camp.quiz_slug, locale=camp.locale,
        tone=camp.tone, headline=camp.headline or "", message=camp.message or "",
        starts_on=camp.starts_on, ends_on=camp.ends_on,
        expires_on=logic.expiry_day(camp.expires_at), utm_source=camp.utm_source,
        utm_medium=camp.utm_medium, utm_campaign=camp.utm_campaign,
        offer_code=camp.offer_code, offer_text=camp.offer_text,
        event_retention_days=camp.event_retention_days,
        archived=camp.archived_at is not None, revoked=camp.revoked_at is not None,
        created_at=as_utc(camp.created_at))


def _settings(camp: Campaign | None) -> dict:
    """The campaign's current values in the shape ``records.apply_settings`` takes."""
    if camp is None:
        return {"locale": "de", "tone": "du", "headline": "", "message": ""}
    data = {name: getattr(camp, name) for name in logic.CAMPAIGN_FIELDS}
    data["expires_on"] = logic.expiry_day(camp.expires_at)
    return data


def _checked(data: dict) -> dict:
    """The merged values, or 422 naming the field: the quiz must exist, dates in order, an
    offer text needs a code (the console form's rules)."""
    errors = []
    if get_quiz(current_app.config["QUIZ_FOLDER"], data["quiz_slug"]) is None:
        errors.append(field_error("quiz_slug", "no quiz of this install has this slug"))
    start = data.get("starts_on")
    if start and data.get("ends_on") and data["ends_on"] < start:
        errors.append(field_error("ends_on", "the campaign cannot end before it starts"))
    if start and data.get("expires_on") and data["expires_on"] < start:
        errors.append(field_error("expires_on", "links cannot expire before the campaign starts"))
    if (data.get("offer_text") or "").strip() and not data.get("offer_code"):
        errors.append(field_error("offer_text", "an offer text needs an offer_code"))
    if errors:
        raise ApiProblem(422, errors=errors)
    return data


@bp.get("/campaigns")
@spec.validate(query=s.PageQuery, resp=Response(HTTP_200=s.CampaignPage, **_ERRORS),
               tags=TAGS, operation_id="listCampaigns")
def list_campaigns(query: s.PageQuery):  # noqa: ANN201
    """List the campaigns this key reaches, oldest first."""
    rows, cursor = page(db.session, select(Campaign).where(apikeys.visible(current_key())),
                        Campaign.id, query.limit, query.cursor)
    return s.CampaignPage(items=[campaign_out(c) for c in rows], next_cursor=cursor)


@bp.post("/campaigns")
@takes_json
@idempotent
@spec.validate(json=s.CampaignCreate,
               resp=Response(HTTP_201=s.Campaign, HTTP_400=s.Problem, HTTP_403=s.Problem,
                             HTTP_415=s.Problem, **_ERRORS),
               tags=TAGS, operation_id="createCampaign")
def create_campaign(json: s.CampaignCreate):  # noqa: ANN201
    """Create a campaign owned by the key's user (a key scoped to some campaigns cannot)."""
    key = current_key()
    if not apikeys.may_create_campaigns(key):
        raise ApiProblem(403, "Only a read-write key for all campaigns creates campaigns.")
    fields = json.model_dump(exclude_unset=True, exclude={"slug"})
    data = _checked({**_settings(None), **fields})
    if json.slug and logic.slug_taken(db.session, json.slug):
        raise ApiProblem(422, errors=[field_error("slug", "this slug is taken already")])
    slug = json.slug or logic.unique_slug(db.session, logic.slug_from(json.name))
    camp = logic.create_campaign(db.session, slug, data, owner=key.user)
    privacy.set_event_retention(camp, json.event_retention_days)
    db.session.commit()
    log.info("campaign %s created through api key %s", camp.id, key.id)
    return campaign_out(camp), 201, {"Location": f"/api/v1/campaigns/{camp.slug}"}


@bp.get("/campaigns/<slug>")
@spec.validate(resp=Response(HTTP_200=s.Campaign, HTTP_404=s.Problem, **_ERRORS),
               tags=TAGS, operation_id="getCampaign")
def get_campaign(slug: str):  # noqa: ANN201
    """One campaign by its slug."""
    return campaign_out(campaign_for(slug, access.VIEW))


@bp.patch("/campaigns/<slug>")
@takes_json
@spec.validate(json=s.CampaignUpdate,
               resp=Response(HTTP_200=s.Campaign, HTTP_400=s.Problem, HTTP_403=s.Problem,
                             HTTP_404=s.Problem, HTTP_415=s.Problem, **_ERRORS),
               tags=TAGS, operation_id="updateCampaign")
def update_campaign(slug: str, json: s.CampaignUpdate):  # noqa: ANN201
    """Change the fields given; the others stay. The slug never changes."""
    camp = campaign_for(slug, access.EDIT)
    changes = json.model_dump(exclude_unset=True)
    for required in ("name", "quiz_slug", "locale", "tone"):
        if required in changes and changes[required] is None:
            raise ApiProblem(422, errors=[field_error(required, "cannot be emptied")])
    data = _checked({**_settings(camp), **changes})
    logic.apply_settings(camp, data, camp.variants or [])
    if "event_retention_days" in changes:
        privacy.set_event_retention(camp, changes["event_retention_days"])
    db.session.commit()
    return campaign_out(camp)
