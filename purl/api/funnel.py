"""``/api/v1/campaigns/{slug}/funnel``: the console's funnel figures as JSON."""

from __future__ import annotations

from spectree import Response

from purl.analytics import report
from purl.analytics.funnel import Funnel
from purl.api import bp, spec
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.campaigns import access
from purl.extensions import db
from purl.quiz import versions

TAGS = ("funnel",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}


def _steps(funnel: Funnel) -> list[s.FunnelStep]:
    return [s.FunnelStep(step=x.kind, count=x.count, of_minted=x.of_minted,
                         of_previous=x.of_previous) for x in funnel.steps]


@bp.get("/campaigns/<slug>/funnel")
@spec.validate(resp=Response(HTTP_200=s.CampaignFunnel, **_ERRORS), tags=TAGS,
               operation_id="getFunnel")
def get_funnel(slug: str):  # noqa: ANN201
    """The campaign's funnel (links, visits, quiz starts and completions, product clicks),
    split by channel and variant, its A/B test, the quiz's drop-off per question, how often
    each option is chosen, and the most clicked products: the console's figures."""
    camp = campaign_for(slug, access.VIEW)
    quiz = versions.campaign_quiz(db.session, camp)
    options = {q.id: [o.value for o in q.options] for q in quiz.questions} if quiz else {}
    figures = report.campaign_report(db.session, camp, options)
    reach = figures.reach
    return s.CampaignFunnel(
        campaign=camp.slug, steps=_steps(figures.funnel),
        by_channel=[s.FunnelGroup(key=k, steps=_steps(f)) for k, f in figures.by_channel.items()],
        by_variant=[s.FunnelGroup(key=k, steps=_steps(f)) for k, f in figures.by_variant.items()],
        by_offer=[s.FunnelGroup(key=k, steps=_steps(f)) for k, f in figures.by_offer.items()],
        ab_test=[s.VariantComparison(
            control=c.control, challenger=c.challenger, control_visitors=c.control_trials,
            control_completed=c.control_successes, control_rate=c.control_rate,
            challenger_visitors=c.challenger_trials,
            challenger_completed=c.challenger_successes, challenger_rate=c.challenger_rate,
            z=c.z, p_value=c.p_value, enough_data=c.enough_data, significant=c.significant)
            for c in figures.comparisons],
        quiz=s.QuizFigures(started=reach.started, completed=reach.completed,
                           stopped_before_first=reach.stopped_before_first,
                           questions=[s.QuestionReach(question_id=q.question_id,
                                                      answered=q.answered,
                                                      stopped_after=q.stopped_after)
                                      for q in reach.questions]),
        answers=[s.AnswerFigures(question_id=a.question_id, answered=a.answered, options=[
            s.OptionFigures(option=o.option, count=o.count, share=o.share,
                            by_version=o.by_version) for o in a.options])
            for a in figures.answers],
        top_products=[s.ProductFigures(sku=p.product.sku, title=p.product.title,
                                       clicks=p.clicks, shoppers=p.shoppers)
                      for p in figures.products])
