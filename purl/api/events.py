"""``/api/v1/campaigns/{slug}/events``: a campaign's events in time order, page by page as
JSON or all of a window as one streamed CSV (the console's export)."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import stream_with_context
from spectree import Response

from purl.analytics import export
from purl.api import bp, spec
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.paging import decode_at, encode_at
from purl.campaigns import access
from purl.extensions import db

TAGS = ("events",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}


@bp.get("/campaigns/<slug>/events")
@spec.validate(query=s.EventQuery, resp=Response(HTTP_200=s.EventPage, **_ERRORS),
               tags=TAGS, operation_id="listEvents")
def list_events(slug: str, query: s.EventQuery):  # noqa: ANN201
    """The campaign's events (visits, quiz steps with their answers, product clicks) in time
    order, optionally of a time window; a new event never shifts a page."""
    camp = campaign_for(slug, access.VIEW)
    rows = export.events_page(db.session, camp.id, start=query.since,
                              end=query.until, after=decode_at(query.cursor),
                              limit=query.limit + 1)
    more, rows = len(rows) > query.limit, rows[:query.limit]
    return s.EventPage(
        items=[s.Event(id=r.id, time=r.created_at, kind=r.kind, channel=r.channel,
                       variant=r.variant, recipient_id=r.recipient_id,
                       external_id=r.external_id, quiz=r.quiz_slug,
                       quiz_version=r.quiz_version, question_id=r.question_id,
                       answer=r.answer, product_sku=r.product_sku, is_seed=r.is_seed)
               for r in rows],
        next_cursor=encode_at(rows[-1].created_at, rows[-1].id) if more else None)


@bp.get("/campaigns/<slug>/events.csv")
@spec.validate(query=s.EventWindow, resp=Response(HTTP_200=None, **_ERRORS), tags=TAGS,
               operation_id="exportEvents")
def export_events(slug: str, query: s.EventWindow):  # noqa: ANN201
    """All the window's events as one CSV, streamed (the console's export: times in UTC,
    cells a spreadsheet opens safely)."""
    camp = campaign_for(slug, access.VIEW)
    return FlaskResponse(
        stream_with_context(export.export_csv(db.session, camp.id, query.since,
                                              query.until)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{camp.slug}-events.csv"'})
