"""``/api/v1/campaigns/{slug}/recipients``: create one, get, list, revoke, erase (GDPR).

A recipient is named by its id or, as a shop's CRM knows it, ``external_id:<the CRM's id>``.
"""

from __future__ import annotations

import logging

from flask import current_app
from spectree import Response
from sqlalchemy import select

from purl import privacy
from purl.api import bp, current_key, spec, takes_json
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.paging import page
from purl.api.problems import ApiProblem
from purl.campaigns import access
from purl.extensions import db
from purl.links import codes, recipients
from purl.links.salutation import salutation_for
from purl.models import Campaign, Recipient, as_utc

log = logging.getLogger(__name__)
TAGS = ("recipients",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}
BY_EXTERNAL_ID = "external_id:"
_REFERENCE = {"ref": "The recipient's id, or `external_id:` and the CRM's id"}


def recipient_out(recipient: Recipient, camp: Campaign) -> s.Recipient:
    config = current_app.config
    link = recipients.link_url(recipient, camp, config["SECRET_KEYS"], config["PURL_BASE_URL"])
    try:
        recipients.check_live(recipient, camp)
        status = "active"
    except recipients.LinkGone:
        status = "revoked" if recipient.revoked_at or camp.revoked_at else "expired"
    return s.Recipient(
        id=recipient.id, campaign=camp.slug, external_id=recipient.external_id,
        email=recipient.email, first_name=recipient.first_name,
        last_name=recipient.last_name, gender=recipient.gender, title=recipient.title,
        company=recipient.company, channel=recipient.channel, is_seed=recipient.is_seed,
        variant=recipient.variant, code=codes.display(recipient.code),
        link=link, qr_url=f"{link}/qr.svg", salutation=salutation_for(recipient, camp),
        status=status, created_at=as_utc(recipient.created_at),
        revoked_at=as_utc(recipient.revoked_at))


def _recipient(camp: Campaign, ref: str) -> Recipient:
    """The recipient ``ref`` names within this campaign only; anything else is 404."""
    found = None
    if ref.startswith(BY_EXTERNAL_ID):
        external_id = ref.removeprefix(BY_EXTERNAL_ID)
        # The same CRM id on several channels: the oldest link, as the list shows it.
        found = db.session.scalar(select(Recipient).where(
            Recipient.campaign_id == camp.id, Recipient.external_id == external_id)
            .order_by(Recipient.id).limit(1))
    elif ref.isdigit() and len(ref) < 19:
        found = recipients.campaign_recipient(db.session, camp, int(ref))
    if found is None:
        raise ApiProblem(404)
    return found


@bp.get("/campaigns/<slug>/recipients")
@spec.validate(query=s.RecipientQuery, resp=Response(HTTP_200=s.RecipientPage, **_ERRORS),
               tags=TAGS, operation_id="listRecipients")
def list_recipients(slug: str, query: s.RecipientQuery):  # noqa: ANN201
    """The campaign's recipients in minting order, optionally one CRM id's."""
    camp = campaign_for(slug, access.VIEW)
    rows_query = select(Recipient).where(Recipient.campaign_id == camp.id)
    if query.external_id is not None:
        rows_query = rows_query.where(Recipient.external_id == query.external_id)
    rows, cursor = page(db.session, rows_query, Recipient.id, query.limit, query.cursor)
    return s.RecipientPage(items=[recipient_out(r, camp) for r in rows], next_cursor=cursor)


@bp.post("/campaigns/<slug>/recipients")
@takes_json
@spec.validate(json=s.RecipientCreate,
               resp=Response(HTTP_200=s.Recipient, HTTP_201=s.Recipient, HTTP_400=s.Problem,
                             HTTP_403=s.Problem, HTTP_415=s.Problem, **_ERRORS),
               tags=TAGS, operation_id="createRecipient")
def create_recipient(slug: str, json: s.RecipientCreate):  # noqa: ANN201
    """Give one person a personal link: 201 when new, 200 with the link they already have
    (the same person, by CRM id, else email, on the same channel, is never minted twice)."""
    camp = campaign_for(slug, access.EDIT)
    person = recipients.NewRecipient(**json.model_dump())
    known = db.session.scalar(select(Recipient.id).where(
        Recipient.campaign_id == camp.id, Recipient.channel == person.channel,
        Recipient.identity == recipients.identity_of(person)))
    (recipient,) = recipients.mint(db.session, camp, [person])
    db.session.commit()
    status = 200 if known is not None else 201
    return recipient_out(recipient, camp), status, {
        "Location": f"/api/v1/campaigns/{camp.slug}/recipients/{recipient.id}"}


@bp.get("/campaigns/<slug>/recipients/<ref>")
@spec.validate(resp=Response(HTTP_200=s.Recipient, **_ERRORS), tags=TAGS,
               path_parameter_descriptions=_REFERENCE, operation_id="getRecipient")
def get_recipient(slug: str, ref: str):  # noqa: ANN201
    """One recipient with their link, code, QR code, salutation and status."""
    camp = campaign_for(slug, access.VIEW)
    return recipient_out(_recipient(camp, ref), camp)


@bp.post("/campaigns/<slug>/recipients/<ref>/revoke")
@spec.validate(resp=Response(HTTP_200=s.Recipient, HTTP_403=s.Problem, **_ERRORS), tags=TAGS,
               path_parameter_descriptions=_REFERENCE, operation_id="revokeRecipient")
def revoke_recipient(slug: str, ref: str):  # noqa: ANN201
    """Withdraw the recipient's link: it answers 410 from now on. Revoking again is a no-op."""
    camp = campaign_for(slug, access.EDIT)
    recipient = _recipient(camp, ref)
    recipients.revoke(db.session, camp, [recipient.id])
    db.session.commit()
    log.info("recipient %s revoked through the api", recipient.id)
    return recipient_out(recipient, camp)


@bp.post("/campaigns/<slug>/recipients/<ref>/erase")
@spec.validate(resp=Response(HTTP_200=s.Recipient, HTTP_403=s.Problem, **_ERRORS), tags=TAGS,
               path_parameter_descriptions=_REFERENCE, operation_id="eraseRecipient")
def erase_recipient(slug: str, ref: str):  # noqa: ANN201
    """GDPR erasure: the recipient's personal data, profile and answers are deleted, the link
    answers 410, events stay as anonymous counts and the funnel's totals do not change.
    Answers the erased recipient (id, code and status only); erasing again is a no-op."""
    camp = campaign_for(slug, access.EDIT)
    recipient = _recipient(camp, ref)
    if not privacy.is_erased(recipient):
        key = current_key()
        privacy.erase_recipient(db.session, recipient, f"api:{key.name}", key.user)
        db.session.commit()
    return recipient_out(recipient, camp)
