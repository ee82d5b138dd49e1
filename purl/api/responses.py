"""``/api/v1/campaigns/{slug}/responses``: the quiz answers of a campaign's recipients, with
the quiz version they were given to, page by page."""

from __future__ import annotations

from spectree import Response

from purl.analytics import export
from purl.api import bp, spec
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.paging import page
from purl.campaigns import access
from purl.extensions import db
from purl.models import QuizResponse, as_utc

TAGS = ("quiz responses",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}


@bp.get("/campaigns/<slug>/responses")
@spec.validate(query=s.ResponseQuery, resp=Response(HTTP_200=s.QuizResponsePage, **_ERRORS),
               tags=TAGS, operation_id="listQuizResponses")
def list_quiz_responses(slug: str, query: s.ResponseQuery):  # noqa: ANN201
    """Each recipient's answers to the campaign's quiz (one response a recipient and quiz,
    saved as each answer is given), oldest first; an erased recipient's are gone."""
    camp = campaign_for(slug, access.VIEW)
    rows, cursor = page(db.session, export.quiz_responses(camp.id, query.completed),
                        QuizResponse.id, query.limit, query.cursor)
    return s.QuizResponsePage(
        items=[s.QuizResponse(
            id=r.id, recipient_id=recipient_id, external_id=external_id, quiz=r.quiz_slug,
            quiz_version=r.quiz_version, answers=r.answers or {},
            started_at=as_utc(r.started_at), updated_at=as_utc(r.updated_at),
            completed_at=as_utc(r.completed_at))
            for r, recipient_id, external_id in rows],
        next_cursor=cursor)
