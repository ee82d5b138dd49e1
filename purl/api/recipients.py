"""``/api/v1/campaigns/{slug}/recipients``: create one, get, list, revoke, erase (GDPR).

A recipient is named by its id or, as a shop's CRM knows it, ``external_id:<the CRM's id>``.
"""

from __future__ import annotations

import csv
import gc
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from json import dumps
from pathlib import Path

from flask import current_app, request
from pydantic import ValidationError
from pydantic_core import to_json
from spectree import Response
from sqlalchemy import select

from purl import privacy
from purl.api import bp, current_key, spec, takes_json
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.idempotency import idempotent
from purl.api.paging import page
from purl.api.problems import ApiProblem, field_error, from_validation
from purl.campaigns import access
from purl.extensions import db
from purl.links import batch, codes, recipients
from purl.links.salutation import salutation_for
from purl.models import Campaign, Recipient, as_utc
from purl.web import accepts_bulk

log = logging.getLogger(__name__)
TAGS = ("recipients",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}
BY_EXTERNAL_ID = "external_id:"
BY_EMAIL = "email:"
_REFERENCE = {"ref": "The recipient's id, `external_id:` and the CRM's id, or `email:` and "
                     "their address"}


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
        attributes=recipient.attributes or {},
        status=status, created_at=as_utc(recipient.created_at),
        revoked_at=as_utc(recipient.revoked_at))


def _recipient(camp: Campaign, ref: str) -> Recipient:
    """The recipient ``ref`` names within this campaign only; anything else is 404."""
    found = None
    if ref.startswith(BY_EMAIL):  # any case; the oldest link of that address, as a list has it
        people = privacy.find_recipients(db.session, camp, email=ref.removeprefix(BY_EMAIL))
        found = people[0] if people else None
    elif ref.startswith(BY_EXTERNAL_ID):
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
@idempotent
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


# The call's people as the CSV ``purl generate`` reads, each column named as its field.
_BULK_COLUMNS = ("external_id", "email", "first_name", "last_name", "gender", "title",
                 "company", "seed")


def _write_people(path: Path, people: list[s.RecipientCreate]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(_BULK_COLUMNS)
        writer.writerows(
            (p.external_id or "", p.email or "", p.first_name or "", p.last_name or "",
             p.gender or "", p.title or "", p.company or "", "1" if p.is_seed else "")
            for p in people)


def _rejected(errors_csv: Path) -> dict[int, str]:
    """Index in the call -> reason, from the errors file (its rows numbered as a
    spreadsheet shows them: the header is row 1)."""
    with errors_csv.open(newline="", encoding="utf-8-sig") as errors:
        reader = csv.reader(errors)
        next(reader, None)
        return {int(row[0]) - 2: row[1] for row in reader if row and row[0].isdigit()}


# The stored links of a list of codes, by the unique code alone (with the campaign too,
# PostgreSQL may plan by a new campaign's underestimated rows and test each against the
# whole list, seconds), the codes as one parameter: psycopg spent a tenth of the call
# parsing 5,000 placeholders. Run on the driver's cursor: SQLAlchemy's rows cost another.
_BY_CODE = {
    "postgresql": "SELECT code, id, external_id, campaign_id FROM recipient "
                  "WHERE code = ANY(%s)",
    "sqlite": "SELECT code, id, external_id, campaign_id FROM recipient "
              "WHERE code IN (SELECT value FROM json_each(?))",
}


def _links(camp: Campaign, out_csv: Path, rejected: dict[int, str],
           count: int) -> list[dict]:
    """The links of the output file, in the call's order, with each recipient's id."""
    with out_csv.open(newline="", encoding="utf-8-sig") as out:
        reader = csv.reader(out)
        header = next(reader)
        at = [header.index(name) for name in ("purl_code", "purl_url", "salutation_line")]
        # The stored code is the printed one without its dashes (codes.display).
        lines = [(row[at[0]].replace("-", ""), row[at[0]], row[at[1]], row[at[2]])
                 for row in reader]
    connection = db.session.connection()
    dialect = connection.dialect.name
    cursor = connection.connection.driver_connection.cursor()
    try:
        codes_of_call = [line[0] for line in lines]
        cursor.execute(_BY_CODE[dialect], (
            codes_of_call if dialect == "postgresql" else dumps(codes_of_call),))
        stored = {code: (rid, ext) for code, rid, ext, campaign_id in cursor.fetchall()
                  if campaign_id == camp.id}
    finally:
        cursor.close()
    indexes = [i for i in range(count) if i not in rejected]
    # Plain dicts, serialized once: 10,000 pydantic models built in Python cost a third of
    # the call.
    return [{"index": index, "id": stored[code][0], "external_id": stored[code][1],
             "code": display, "link": url, "qr_url": f"{url}/qr.svg",
             "salutation": salutation}
            for index, (code, display, url, salutation) in zip(indexes, lines, strict=True)]


def _people() -> s.RecipientsCreate:
    """The call's body, checked from its bytes in one pass (pydantic's JSON parser): for
    10,000 people, parsing to Python first and validating after cost a tenth of the call.
    Not JSON is 415, unreadable JSON 400, a bad person 422 naming them, as spectree says
    for every other call."""
    if request.mimetype != "application/json":
        raise ApiProblem(415)
    try:
        return s.RecipientsCreate.model_validate_json(request.get_data())
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise ApiProblem(400) from None
        raise ApiProblem(422, errors=from_validation(errors, "json")) from None


@bp.post("/campaigns/<slug>/recipients/bulk")
@accepts_bulk
@idempotent
# Documented by the schemas, checked here (_people) and answered as built from the engine's
# own output: spectree's two passes over 10,000 people would cost a fifth of the call.
@spec.validate(json=s.RecipientsCreate, skip_validation=True,
               resp=Response(HTTP_200=s.RecipientsCreated, HTTP_400=s.Problem,
                             HTTP_403=s.Problem, HTTP_415=s.Problem, HTTP_422=s.Problem,
                             **_ERRORS),
               tags=TAGS, operation_id="createRecipients")
def create_recipients(slug: str):  # noqa: ANN201
    """Give up to 10,000 people a personal link in one call: the same batch run as a list
    uploaded in the console (a person who has a link keeps it, with their details
    corrected; a `batch.finished` webhook follows). Rows the batch refuses come back in
    `errors` with their index; send an `Idempotency-Key` to retry safely."""
    camp = campaign_for(slug, access.EDIT)
    with cycles_uncollected():
        return _create_recipients(camp)


@contextmanager
def cycles_uncollected() -> Iterator[None]:
    """No cycle collection for the length of one bulk call: its 10,000 people, rows and
    links are freed by reference counting as soon as they are done with, yet the objects
    made for them set off full collections that walked the whole process, a fifth of the
    call and more. Restored after, also when the call fails."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _create_recipients(camp: Campaign):  # noqa: ANN202
    asked = _people()
    config = current_app.config
    with tempfile.TemporaryDirectory(prefix="purl-api-") as folder:
        source, out = Path(folder) / "api.csv", Path(folder) / "links.csv"
        _write_people(source, asked.recipients)
        options = batch.Options(channel=asked.channel, workers=0,
                                mapping={name: name for name in _BULK_COLUMNS})
        try:
            result = batch.generate(db.session, camp, source, out, keys=config["SECRET_KEYS"],
                                    base_url=config["PURL_BASE_URL"], options=options)
        except batch.BatchError as exc:
            raise ApiProblem(422, str(exc)) from None
        rejected = _rejected(result.errors_path)
        items = _links(camp, out, rejected, len(asked.recipients))
    log.info("campaign %s: %s through the api", camp.id, result.summary())
    body = {"batch": result.batch_id, "minted": result.minted, "reused": result.reused,
            "rejected": result.rejected, "items": items,
            "errors": [{"index": i, "reason": r} for i, r in sorted(rejected.items())]}
    # pydantic's serializer (Rust): the standard library's took 30 ms for 10,000 links.
    return current_app.response_class(to_json(body), mimetype="application/json")


@bp.get("/campaigns/<slug>/recipients/<ref>")
@spec.validate(resp=Response(HTTP_200=s.Recipient, **_ERRORS), tags=TAGS,
               path_parameter_descriptions=_REFERENCE, operation_id="getRecipient")
def get_recipient(slug: str, ref: str):  # noqa: ANN201
    """One recipient with their link, code, QR code, salutation and status."""
    camp = campaign_for(slug, access.VIEW)
    return recipient_out(_recipient(camp, ref), camp)


@bp.patch("/campaigns/<slug>/recipients/<ref>")
@takes_json
@spec.validate(json=s.RecipientUpdate,
               resp=Response(HTTP_200=s.Recipient, HTTP_400=s.Problem, HTTP_403=s.Problem,
                             HTTP_409=s.Problem, HTTP_415=s.Problem, **_ERRORS),
               tags=TAGS, path_parameter_descriptions=_REFERENCE,
               operation_id="updateRecipient")
def update_recipient(slug: str, ref: str, json: s.RecipientUpdate):  # noqa: ANN201
    """Change a recipient's names, salutation (gender, title), company and extra
    attributes; the link stays. Who they are (CRM id, email) is not changed here."""
    camp = campaign_for(slug, access.EDIT)
    recipient = _recipient(camp, ref)
    if privacy.is_erased(recipient):
        raise ApiProblem(409, "This recipient was erased: nothing is kept of them.")
    changes = json.model_dump(exclude_unset=True)
    attributes = changes.pop("attributes", None) or {}
    try:
        recipients.update_details(recipient, changes, attributes)
    except recipients.NotEditable as exc:
        raise ApiProblem(422, errors=[field_error(str(exc), (
            "this recipient has no CRM id or email, so their name and company are who they "
            "are: mint a new link instead"))]) from None
    db.session.commit()
    return recipient_out(recipient, camp)


@bp.get("/campaigns/<slug>/recipients/<ref>/export")
@spec.validate(resp=Response(HTTP_200=s.RecipientExport, **_ERRORS), tags=TAGS,
               path_parameter_descriptions=_REFERENCE, operation_id="exportRecipient")
def export_recipient(slug: str, ref: str):  # noqa: ANN201
    """GDPR access (art. 15/20): everything purl holds about the recipient: their fields,
    profile, quiz answers and events. The same as `flask privacy export`."""
    camp = campaign_for(slug, access.VIEW)
    return s.RecipientExport(**privacy.export_recipient(db.session, _recipient(camp, ref)))


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
