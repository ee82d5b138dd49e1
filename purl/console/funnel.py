"""A campaign's funnel and its events export."""


from __future__ import annotations

import datetime as dt
import logging

from flask import (
    Response,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import gettext as _

from purl.analytics import export, report
from purl.analytics import funnel as reports
from purl.campaigns import access
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.console.charts import FUNNEL_WIDTH, funnel_bars, time_chart
from purl.extensions import db
from purl.models import Campaign
from purl.quiz import versions
from purl.quiz.schema import localize

log = logging.getLogger(__name__)

CHART_DAYS = 90


def _chart_days(camp: Campaign) -> tuple[dt.date, dt.date] | None:
    """From the campaign's start (or first event) to today or its end; at most CHART_DAYS."""
    span = reports.event_span(db.session, camp.id)
    first = camp.starts_on or (span[0] if span else None)
    if first is None:
        return None
    today = dt.datetime.now(dt.UTC).date()
    last = min(camp.ends_on or today, today)
    if span:
        first, last = min(first, span[0]), max(last, span[1])
    if last < first:
        return None  # starts in the future and nothing happened yet
    return max(first, last - dt.timedelta(days=CHART_DAYS - 1)), last


@bp.get("/campaigns/<slug>/funnel")
def funnel(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.VIEW)
    quiz = versions.campaign_quiz(db.session, camp)
    locale = str(camp.locale)
    order = {q.id: [o.value for o in q.options] for q in quiz.questions} if quiz else {}
    # Words from every version shoppers were given, the newest wording of each: an option
    # taken out since is still named as its answers were given.
    questions: dict[str, str] = {}
    labels: dict[str, dict[str, str]] = {}
    numbers: dict[str, int] = {}
    given = versions.given_versions(db.session, camp.quiz_slug)
    for number, version in [*given, *([(0, quiz)] if quiz else [])]:
        numbers.setdefault(version.version, number)
        for q in version.questions:
            questions[q.id] = localize(q.text, locale)
            labels.setdefault(q.id, {}).update(
                {o.value: localize(o.label, locale) for o in q.options})
    figures = report.campaign_report(db.session, camp, order)
    span = _chart_days(camp)
    days = reports.daily(db.session, camp.id, *span) if span else []
    return render_template(
        "console/funnel.html", campaign=camp, funnel=figures.funnel,
        bars=funnel_bars(figures.funnel), bar_width=FUNNEL_WIDTH,
        by_channel=figures.by_channel, by_variant=figures.by_variant,
        by_offer=figures.by_offer, comparisons=figures.comparisons,
        chart=time_chart(days) if days else None, days=days,
        reach=figures.reach, dropoff=figures.reach.questions if questions else [],
        questions=questions, option_labels=labels, answers=figures.answers,
        version_numbers=numbers,
        products=figures.products,
    )


def _window_day(name: str) -> dt.date | None:
    """A day of the export window (YYYY-MM-DD); None when not given."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@bp.get("/campaigns/<slug>/events.csv")
def export_events(slug: str):  # noqa: ANN201
    """All the campaign's events, or those ``from`` one day ``to`` another (both included,
    days in UTC), as a CSV download."""
    camp = campaign_or_404(slug, access.VIEW)
    campaign_id = camp.id
    first, last = _window_day("from"), _window_day("to")
    for name, day, label in (("from", first, _("From (day, UTC)")),
                             ("to", last, _("To (day, UTC, included)"))):
        if request.args.get(name, "").strip() and day is None:
            return _bad_window(_("“%(field)s” is no date: please give a day as YYYY-MM-DD, "
                                 "for example 2026-12-01.", field=label))
    if first and last and last < first:
        return _bad_window(_("The end day (%(last)s) lies before the start day (%(first)s): "
                             "please swap them.", last=last.isoformat(),
                             first=first.isoformat()))
    start = _day_start(first) if first else None
    end = _day_start(last + dt.timedelta(days=1)) if last and last < dt.date.max else None

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    window = f"-{first or 'start'}-{last or stamp}" if first or last else f"-{stamp}"
    return Response(
        stream_with_context(export.export_csv(db.session, campaign_id, start, end)),
        mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="{camp.slug}-events{window}.csv"'},
    )


def _bad_window(message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=400,
                           title=_("This period cannot be exported"), message=message), 400
