"""The marketer console: sign-in, campaigns, links and the funnel.

Every route here needs a signed-in user (enforced once, before any view runs); admin-only
routes live in ``users.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import analytics
from ..extensions import db, limiter, login_manager
from ..journey import Journey
from ..links import batch as engine
from ..links.logic import landing_copy, link_url, revoke
from ..models import Campaign, Recipient
from ..pages import leave_to, render_page
from ..quiz.definition import get_quiz, list_quizzes, localize
from . import batches
from . import campaigns as logic
from .auth import authenticate, normalise_email
from .charts import FUNNEL_WIDTH, funnel_bars, time_chart
from .forms import CampaignForm, LoginForm, slug_from
from .sessions import safe_next, sign_in, sign_out
from .settings import campaign_defaults

log = logging.getLogger(__name__)
bp = Blueprint("console", __name__, url_prefix="/console")

PUBLIC_ENDPOINTS = {"console.login"}
LINKS_PER_PAGE = 50
CHART_DAYS = 90


@bp.before_request
def require_sign_in():  # noqa: ANN201
    # One gate for the whole console, so a new route cannot forget it.
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _login_key() -> str:
    # Counts failed attempts per account, whichever address they come from; hashed so the
    # rate-limit store (Redis) holds no email addresses.
    email = normalise_email(request.form.get("email", ""))
    return "login:" + hashlib.sha256(email.encode()).hexdigest()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], key_func=_login_key,
               deduct_when=lambda response: response.status_code == 401)
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("console.campaigns"), 303)
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            sign_in(user)
            db.session.commit()
            log.info("user %s signed in", user.id)
            target = safe_next(request.args.get("next")) or url_for("console.campaigns")
            return redirect(target, 303)
        # One answer for an unknown user and a wrong password.
        flash(_("Email or password is not correct."), "error")
        return render_template("console/login.html", form=form), 401
    return render_template("console/login.html", form=form)


@bp.post("/logout")
def logout():  # noqa: ANN201
    sign_out(current_user._get_current_object())
    db.session.commit()
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"), 303)


# --- Campaigns ----------------------------------------------------------------------------

def _campaign(slug: str) -> Campaign:
    return db.first_or_404(select(Campaign).where(Campaign.slug == slug))


def quiz_choices() -> list[SelectChoice]:
    return [SelectChoice(q.slug, f"{localize(q.title, 'de')} ({q.slug})")
            for q in list_quizzes(current_app.config["QUIZ_FOLDER"])]


@bp.get("/")
def campaigns():  # noqa: ANN201
    archived = request.args.get("archived") == "1"
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    query = query.where(Campaign.archived_at.is_not(None) if archived
                        else Campaign.archived_at.is_(None))
    rows = [(c, analytics.funnel(db.session, c.id)) for c in db.session.scalars(query)]
    return render_template("console/campaigns.html", rows=rows, archived=archived)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign():  # noqa: ANN201
    # A new campaign starts from the defaults an admin set in the settings.
    form = CampaignForm(data=campaign_defaults(db.session) if request.method == "GET" else None)
    form.quiz_slug.choices = quiz_choices()
    if form.validate_on_submit():
        wanted = form.slug.data or slug_from(form.name.data)
        if form.slug.data and logic.slug_taken(db.session, wanted):
            form.slug.errors = [*form.slug.errors, _("This short name is taken already.")]
        else:
            camp = logic.create_campaign(db.session, logic.unique_slug(db.session, wanted),
                                         form.data, form.variant_list())
            db.session.commit()
            flash(_("Campaign “%(name)s” created.", name=camp.name), "success")
            return leave_to(url_for("console.campaign", slug=camp.slug))
    status = 422 if form.errors else 200
    return render_template("console/campaign_form.html", form=form, campaign=None), status


@bp.get("/campaigns/<slug>")
def campaign(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    return render_template(
        "console/campaign.html", campaign=camp, funnel=analytics.funnel(db.session, camp.id),
        expires_on=logic.expiry_day(camp.expires_at),
        active_links=logic.active_links(db.session, camp),
        usage=logic.variant_usage(db.session, camp),
        batches=batches.recent_batches(db.session, camp),
    )


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
def edit_campaign(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    usage = logic.variant_usage(db.session, camp)
    form = CampaignForm(obj=camp, used_variants=usage)
    form.quiz_slug.choices = quiz_choices()
    if request.method == "GET":
        form.expires_on.data = logic.expiry_day(camp.expires_at)
        for entry, variant in zip(form.variants.entries, camp.variants or [], strict=False):
            entry.form.key.data = variant.get("key", "")
            entry.form.headline.data = variant.get("headline", "")
            entry.form.message.data = variant.get("message", "")
    if form.validate_on_submit():
        logic.apply_settings(camp, form.data, form.variant_list())
        db.session.commit()
        flash(_("Changes saved."), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    status = 422 if form.errors else 200
    return render_template("console/campaign_form.html", form=form, campaign=camp), status


@bp.route("/campaigns/<slug>/archive", methods=["GET", "POST"])
def archive_campaign(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    if request.method == "POST":
        archive = request.form.get("archive") == "1"
        logic.set_archived(camp, archive)
        db.session.commit()
        flash(_("Campaign archived.") if archive else _("Campaign restored."), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    return render_template("console/confirm_archive.html", campaign=camp)


# --- Links --------------------------------------------------------------------------------

@bp.get("/campaigns/<slug>/links")
def links(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    query = request.args.get("q", "").strip()[:200]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = logic.search_recipients(db.session, camp, query, LINKS_PER_PAGE,
                                          (page - 1) * LINKS_PER_PAGE)
    keys, base = current_app.config["SECRET_KEYS"], current_app.config["PURL_BASE_URL"]
    return render_page(
        "console/links.html", "console/_links_table.html", campaign=camp, query=query,
        page_number=page, total=total, per_page=LINKS_PER_PAGE,
        rows=[(r, link_url(r, camp, keys, base)) for r in rows],
    )


def _recipient(camp: Campaign, recipient_id: int) -> Recipient:
    recipient = logic.campaign_recipient(db.session, camp, recipient_id)
    if recipient is None:
        abort(404)
    return recipient


class PreviewJourney(Journey):
    """The landing page's context for a preview: every link stays on the preview."""

    def url(self, endpoint: str, **values: str) -> str:
        return "#preview"


@bp.get("/campaigns/<slug>/links/<int:recipient_id>/preview")
def preview(slug: str, recipient_id: int):  # noqa: ANN201
    """The recipient's landing page as they would see it; no visit is recorded."""
    camp = _campaign(slug)
    recipient = _recipient(camp, recipient_id)
    quiz = get_quiz(current_app.config["QUIZ_FOLDER"], camp.quiz_slug)
    if quiz is None:
        abort(404)
    g.locale = camp.locale
    trip = PreviewJourney(quiz=quiz, url_args={}, locale=camp.locale, campaign=camp,
                          recipient=recipient)
    headline, message = landing_copy(camp, recipient)
    flash(_("Preview: this is what %(name)s sees. Visits here are not counted.",
            name=" ".join(filter(None, (recipient.first_name, recipient.last_name)))
            or _("this recipient")), "info")
    if recipient.revoked_at or camp.revoked_at:
        flash(_("This link is revoked: the shopper sees “This link is no longer valid”."),
              "error")
    return render_template("links/landing.html", journey=trip, headline=headline,
                           message=message)


@bp.route("/campaigns/<slug>/links/<int:recipient_id>/revoke", methods=["GET", "POST"])
def revoke_link(slug: str, recipient_id: int):  # noqa: ANN201
    camp = _campaign(slug)
    recipient = _recipient(camp, recipient_id)
    if request.method == "POST":
        revoke(db.session, camp, [recipient.id])
        db.session.commit()
        log.info("campaign %s: link of recipient %s revoked", camp.id, recipient.id)
        flash(_("The link is revoked."), "success")
        return leave_to(url_for("console.links", slug=camp.slug))
    return render_template("console/confirm_revoke.html", campaign=camp, recipient=recipient,
                           count=1)


@bp.route("/campaigns/<slug>/revoke", methods=["GET", "POST"])
def revoke_all(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    if request.method == "POST":
        count = revoke(db.session, camp)
        db.session.commit()
        log.info("campaign %s: all links revoked", camp.id)
        flash(_("All %(count)d links of this campaign are revoked.", count=count), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    return render_template("console/confirm_revoke.html", campaign=camp, recipient=None,
                           count=logic.active_links(db.session, camp))


# --- Funnel -------------------------------------------------------------------------------

def _chart_days(camp: Campaign) -> tuple[dt.date, dt.date] | None:
    """From the campaign's start (or first event) to today or its end; at most CHART_DAYS."""
    span = analytics.event_span(db.session, camp.id)
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
    camp = _campaign(slug)
    total = analytics.funnel(db.session, camp.id)
    counted = analytics.funnels(db.session, camp.id, by="variant")
    # The campaign's variants in its order (the first is the control), even before any link.
    keys = [v["key"] for v in camp.variants or []] + sorted(set(counted) - {""} - {
        v["key"] for v in camp.variants or []})
    by_variant = {key: counted.get(key, analytics.Funnel()) for key in keys}
    quiz = get_quiz(current_app.config["QUIZ_FOLDER"], camp.quiz_slug)
    questions = {q.id: localize(q.text, str(camp.locale)) for q in quiz.questions} if quiz else {}
    span = _chart_days(camp)
    days = analytics.daily(db.session, camp.id, *span) if span else []
    return render_template(
        "console/funnel.html", campaign=camp, funnel=total,
        bars=funnel_bars(total), bar_width=FUNNEL_WIDTH,
        by_channel=analytics.funnels(db.session, camp.id, by="channel"),
        by_variant=by_variant,
        comparisons=analytics.compare_variants(by_variant),
        chart=time_chart(days) if days else None, days=days,
        dropoff=analytics.question_dropoff(db.session, camp.id, list(questions)),
        questions=questions,
        products=analytics.top_products(db.session, camp.id),
    )


@bp.get("/campaigns/<slug>/events.csv")
def export_events(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    campaign_id = camp.id

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in analytics.export_rows(db.session, campaign_id):
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    return Response(
        stream_with_context(generate()), mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="{camp.slug}-events-{stamp}.csv"'},
    )


# --- Batches ------------------------------------------------------------------------------

TARGET_LABELS = {
    "external_id": _l("Customer number"), "email": _l("Email address"),
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "gender": _l("Salutation / gender"), "title": _l("Title"), "company": _l("Company"),
    "seed": _l("Test recipient (seed)"), "attribute": _l("Keep as extra column"),
    "ignore": _l("Ignore"),
}
CHANNEL_LABELS = {"email": _l("Email"), "print": _l("Print (letter, flyer)"), "sms": _l("SMS"),
                  "whatsapp": _l("WhatsApp"), "push": _l("Push notification")}


def _batch(camp: Campaign, batch_id: int):  # noqa: ANN202
    found = batches.campaign_batch(db.session, camp, batch_id)
    if found is None:
        abort(404)
    return found


@bp.post("/campaigns/<slug>/batches")
def upload_batch(slug: str):  # noqa: ANN201
    camp = _campaign(slug)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Please choose a CSV file to upload."), "error")
        return leave_to(url_for("console.campaign", slug=camp.slug) + "#upload")
    found = batches.store_upload(db.session, camp, upload.stream, upload.filename,
                                 current_app.config["UPLOAD_FOLDER"])
    db.session.commit()
    log.info("campaign %s: list uploaded as batch %s", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _preview_page(camp: Campaign, found, mapping: dict | None = None,  # noqa: ANN001
                  problems: list[str] | None = None, status: int = 200):  # noqa: ANN202
    folder = batches.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    try:
        seen = engine.preview(folder / batches.INPUT)
    except (engine.BatchError, OSError) as exc:
        return render_template("console/batch.html", campaign=camp, batch=found, preview=None,
                               unreadable=_(str(exc))), 422
    return render_template(
        "console/batch.html", campaign=camp, batch=found, preview=seen,
        mapping=mapping or seen.mapping, problems=problems or [], targets=TARGET_LABELS,
        channels=CHANNEL_LABELS, channel=request.form.get("channel", "email"),
        qr=request.form.get("qr") == "1", unreadable=None,
    ), status


@bp.get("/campaigns/<slug>/batches/<int:batch_id>")
def batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = _campaign(slug)
    found = _batch(camp, batch_id)
    if found.status == "uploaded":
        return _preview_page(camp, found)
    folder = batches.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    return render_page("console/batch.html", "console/_batch_progress.html", campaign=camp,
                       batch=found, preview=None, unreadable=None,
                       has_qr=(folder / batches.QR).exists())


@bp.post("/campaigns/<slug>/batches/<int:batch_id>")
def mint_batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = _campaign(slug)
    found = _batch(camp, batch_id)
    if found.status != "uploaded":
        flash(_("This list is being minted already."), "info")
        return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))
    folder = batches.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    try:
        header = engine.preview(folder / batches.INPUT, rows=0).header
    except (engine.BatchError, OSError):
        return _preview_page(camp, found)
    mapping = {name: request.form.get(f"map-{i}", "attribute") for i, name in enumerate(header)}
    channel = request.form.get("channel", "email")
    problems = []
    for kind, column, other in batches.check_mapping(mapping):
        if kind == "twice":
            problems.append(_("Columns “%(column)s” and “%(other)s” both hold the same field; "
                              "choose it for one of them only.", column=column, other=other))
        elif kind == "identity":
            problems.append(_("No column holds a customer number, an email address or a name: "
                              "choose one so every recipient can be told apart."))
        else:
            problems.append(_("Column “%(column)s”: please choose a field from the list.",
                              column=column))
    if channel not in CHANNEL_LABELS:
        problems.append(_("Please choose a channel from the list."))
    if problems:
        return _preview_page(camp, found, mapping, problems, 422)
    claimed = batches.queue(db.session, found)
    db.session.commit()
    if not claimed:
        flash(_("This list is being minted already."), "info")
        return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))
    thread = batches.start(current_app._get_current_object(), found.id, mapping, channel,
                           request.form.get("qr") == "1")
    if current_app.config.get("CONSOLE_BATCH_WAIT"):
        thread.join()  # tests: the page after the redirect shows the finished batch
    log.info("campaign %s: batch %s queued", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _download(slug: str, batch_id: int, name: str, label: str, mimetype: str):  # noqa: ANN202
    camp = _campaign(slug)
    found = _batch(camp, batch_id)
    path = batches.folder_of(current_app.config["UPLOAD_FOLDER"], found) / name
    if found.status != "done" or not path.exists():
        abort(404)
    suffix = name.rsplit(".", 1)[1]
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=f"{camp.slug}-{found.id}-{label}.{suffix}")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/links.csv")
def batch_output(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, batches.OUTPUT, "links", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/errors.csv")
def batch_errors(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, batches.ERRORS, "errors", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/qr.zip")
def batch_qr(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, batches.QR, "qr", "application/zip")


from . import users  # noqa: E402, F401 - registers the admin routes on bp
