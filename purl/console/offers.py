"""A campaign's offers by rule in the console: a discount code and text for shoppers whose
answers or CRM attributes match, tried in order before the campaign's own offer."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from purl.campaigns import access, offers
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.extensions import db
from purl.models import Campaign
from purl.quiz import versions

log = logging.getLogger(__name__)

SOURCE_LABELS = {"answer": _l("an answer in the quiz"), "attribute": _l("a column of the list")}
BLANK_ROWS = 2
FIELDS = ("name", "code", "text", "source", "key", "values")


def _questions(camp: Campaign) -> dict[str, set[str]] | None:
    """The campaign's quiz questions and their answers, for checking answer rules."""
    quiz = versions.campaign_quiz(db.session, camp)
    if quiz is None:
        return None
    return {q.id: {o.value for o in q.options} if q.has_options else set()
            for q in quiz.questions}


def _rows_sent() -> list[dict[str, str]]:
    rows = []
    for number in range(offers.MAX_RULES + BLANK_ROWS):
        row = {f: request.form.get(f"rule-{number}-{f}", "") for f in FIELDS}
        rows.append(row)
    return rows


def _rows_kept(camp: Campaign) -> list[dict[str, str]]:
    kept = [{**rule.stored(), "values": ", ".join(rule.values)}
            for rule in offers.rules_of(camp)]
    blank = {f: "" for f in FIELDS} | {"source": "answer"}
    return kept + [dict(blank) for _ in range(min(BLANK_ROWS, offers.MAX_RULES - len(kept)))]


@bp.route("/campaigns/<slug>/offers", methods=["GET", "POST"])
def campaign_offers(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    questions = _questions(camp)
    problem = None
    rows = _rows_kept(camp)
    if request.method == "POST":
        sent = _rows_sent()
        try:
            rules = offers.parse_rules(sent, questions)
        except offers.RuleError as exc:
            problem = _(exc.msgid, **exc.params)
            rows = [r for r in sent if any(r[f].strip() for f in FIELDS if f != "source")]
            rows += [{f: "" for f in FIELDS} | {"source": "answer"}
                     for _ in range(BLANK_ROWS)]
        else:
            offers.set_rules(camp, rules)
            db.session.commit()
            log.info("campaign %s: %s offer rules", camp.id, len(rules))
            flash(_("Offers saved: shoppers see them on their next visit."), "success")
            return redirect(url_for("console.campaign_offers", slug=camp.slug), 303)
    return render_template(
        "console/campaign_offers.html", campaign=camp, rows=rows, problem=problem,
        sources=SOURCE_LABELS, questions=questions,
        own=offers.own_offer(camp)), 422 if problem else 200
