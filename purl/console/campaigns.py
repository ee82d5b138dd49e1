"""Campaign pages: the list, create, show, edit, archive."""


from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from purl import privacy
from purl.analytics import funnel as reports
from purl.analytics import link_tally
from purl.campaigns import access
from purl.campaigns import records as logic
from purl.campaigns.defaults import campaign_defaults
from purl.catalog import curation
from purl.catalog.catalogs import DEFAULT as DEFAULT_CATALOG
from purl.console import bp
from purl.console.forms import CampaignForm, ShowroomForm, slug_from
from purl.extensions import db
from purl.links.batch import uploads
from purl.models import Campaign
from purl.quiz import versions
from purl.quiz.schema import Quiz, localize
from purl.web import leave_to

log = logging.getLogger(__name__)



def campaign_or_404(slug: str, right: access.Right) -> Campaign:
    """The campaign this URL names, if the signed-in user has ``right`` on it.

    A campaign the user may not see answers 404 like one that does not exist (never 403, which
    would tell that it does); one they see but may not change answers 403. The role is kept
    for the page's templates (``campaign_role``), which never look it up themselves.
    """
    camp = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    role = access.role_for(db.session, camp, current_user) if camp is not None else None
    if role is None:
        abort(404)
    if not access.allows(role, right):
        abort(403, description=_("Only the campaign's owner and admins can share it.")
              if right == access.MANAGE else _("You can view this campaign but not change it."))
    g.campaign_role = role
    return camp


@bp.context_processor
def campaign_rights() -> dict:
    # What the campaign's pages may offer, from the role the view checked.
    role = g.get("campaign_role")
    return {"campaign_role": role, "can_edit": access.allows(role, access.EDIT),
            "can_manage": access.allows(role, access.MANAGE)}


def quiz_choices() -> list[SelectChoice]:
    return [SelectChoice(q.slug, f"{localize(q.title, 'de')} ({q.slug})")
            for q in versions.published_quizzes(db.session)]


@bp.get("/")
def campaigns():  # noqa: ANN201
    archived = request.args.get("archived") == "1"
    query = (select(Campaign).where(access.visible(current_user))
             .order_by(Campaign.created_at.desc(), Campaign.id.desc()))
    query = query.where(Campaign.archived_at.is_not(None) if archived
                        else Campaign.archived_at.is_(None))
    listed = list(db.session.scalars(query))
    # One grouped query for every campaign listed, never one funnel per campaign.
    counted = reports.campaign_funnels(db.session, [c.id for c in listed])
    rows = [(c, counted[c.id]) for c in listed]
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
                                         form.data, form.variant_list(),
                                         base_url=form.base_url.data or None, owner=current_user)
            privacy.set_event_retention(camp, form.event_retention_days.data)
            db.session.commit()
            flash(_("Campaign “%(name)s” created.", name=camp.name), "success")
            return leave_to(url_for("console.campaign", slug=camp.slug))
    status = 422 if form.errors else 200
    return render_template("console/campaign_form.html", form=form, campaign=None), status


@bp.get("/campaigns/<slug>")
def campaign(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.VIEW)
    return render_template(
        "console/campaign.html", campaign=camp, funnel=reports.funnel(db.session, camp.id),
        expires_on=logic.expiry_day(camp.expires_at),
        active_links=link_tally.active_links(db.session, camp.id),
        usage=link_tally.variant_usage(db.session, camp.id),
        batches=uploads.recent_batches(db.session, camp),
    )


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
def edit_campaign(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    usage = link_tally.variant_usage(db.session, camp.id)
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
        # Validated by forms.link_address; empty: the installation's address.
        camp.base_url = form.base_url.data or None
        privacy.set_event_retention(camp, form.event_retention_days.data)
        db.session.commit()
        flash(_("Changes saved."), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    status = 422 if form.errors else 200
    return render_template("console/campaign_form.html", form=form, campaign=camp), status


BLOCKS = (1, 2)


def _showroom_form(camp: Campaign, quiz: Quiz | None) -> ShowroomForm:
    form = ShowroomForm()
    locale = str(camp.locale)
    choices = [("", _("to every shopper"))] + [
        (q.id, _("after the question “%(question)s”", question=localize(q.text, locale)))
        for q in (quiz.questions if quiz is not None else ())]
    for n in BLOCKS:
        getattr(form, f"block{n}_question").choices = choices
    if request.method == "GET":
        for n, block in zip(BLOCKS, (camp.showroom or {}).get("blocks") or (), strict=False):
            for part in ("title", "body"):
                text = block.get(part) or {}
                getattr(form, f"block{n}_{part}_de").data = text.get("de", "")
                getattr(form, f"block{n}_{part}_de_sie").data = text.get("de:sie", "")
                getattr(form, f"block{n}_{part}_en").data = text.get("en", "")
            getattr(form, f"block{n}_question").data = block.get("question") or ""
            getattr(form, f"block{n}_values").data = ", ".join(block.get("values") or ())
        settings = camp.showroom or {}
        for name in ("heading", "intro"):
            text = settings.get(name) or {}
            getattr(form, f"{name}_de").data = text.get("de", "")
            getattr(form, f"{name}_de_sie").data = text.get("de:sie", "")
            getattr(form, f"{name}_en").data = text.get("en", "")
        form.pinned.data = "\n".join(p["sku"] for p in settings.get("pinned") or ())
        form.excluded.data = "\n".join(p["sku"] for p in settings.get("excluded") or ())
        form.pin_mode.data = settings.get("pin_mode") or "fit"
        form.per_page.data = settings.get("per_page") or 24
    return form


def _blocks(form: ShowroomForm, quiz: Quiz | None, text: Callable[[str], dict[str, str]]
            ) -> list[dict[str, Any]]:
    """The form's content blocks as kept; an answer the block's question does not have is
    marked on its field (``form.errors``)."""
    questions = {q.id: q for q in (quiz.questions if quiz is not None else ())}
    blocks = []
    for n in BLOCKS:
        question = getattr(form, f"block{n}_question").data or ""
        field = getattr(form, f"block{n}_values")
        values = [v.strip() for v in re.split(r"[,;]", field.data or "") if v.strip()]
        asked = questions.get(question)
        if asked is not None and asked.has_options:
            unknown = [v for v in values if asked.option(v) is None]
            if unknown:
                field.errors = [*field.errors, _(
                    "The question has no answer “%(value)s”; its answers are %(known)s.",
                    value=unknown[0], known=", ".join(o.value for o in asked.options))]
                continue
        if question and not values:
            field.errors = [*field.errors, _("Please name the answers it is shown for.")]
            continue
        block = curation.block_of(text(f"block{n}_title"), text(f"block{n}_body"), question,
                                  values)
        if block is not None:
            blocks.append(block)
    return blocks


def _refused(exc: curation.CurationError, catalog: str) -> str:
    if exc.too_many:
        return _("At most %(num)s products.", num=curation.MAX_PRODUCTS)
    if exc.field == "both":
        return _("Pinned and excluded at once: %(skus)s", skus=", ".join(exc.unknown))
    return _("The catalog %(catalog)s has no product with the SKU %(skus)s.",
             catalog=catalog, skus=", ".join(exc.unknown))


@bp.route("/campaigns/<slug>/showroom", methods=["GET", "POST"])
def campaign_showroom(slug: str):  # noqa: ANN201
    """The campaign's showroom as its marketer curates it: heading and introduction in du,
    Sie and English, pinned and excluded products, products per page."""
    camp = campaign_or_404(slug, access.EDIT)
    quiz = versions.campaign_quiz(db.session, camp)
    catalog = quiz.catalog if quiz is not None else DEFAULT_CATALOG
    form = _showroom_form(camp, quiz)
    if form.validate_on_submit():
        def text(name: str) -> dict[str, str]:
            return {"de": getattr(form, f"{name}_de").data,
                    "de:sie": getattr(form, f"{name}_de_sie").data,
                    "en": getattr(form, f"{name}_en").data}
        blocks = _blocks(form, quiz, text)
        if form.errors:
            return render_template("console/campaign_showroom.html", form=form,
                                   campaign=camp, catalog=catalog, public_quiz=None), 422
        try:
            curation.curate(
                db.session, camp, catalog, heading=text("heading"), intro=text("intro"),
                pinned=curation.skus(form.pinned.data), pin_mode=form.pin_mode.data,
                excluded=curation.skus(form.excluded.data), per_page=form.per_page.data,
                blocks=blocks)
        except curation.CurationError as exc:
            db.session.rollback()
            target = form.pinned if exc.field == "pinned" else form.excluded
            target.errors = [*target.errors, _refused(exc, catalog)]
        else:
            db.session.commit()
            flash(_("Showroom saved: shoppers see it on their next visit."), "success")
            return redirect(url_for("console.campaign_showroom", slug=camp.slug), 303)
    status = 422 if form.errors else 200
    # A quiz's visitor campaign: its showroom is the public quiz's too.
    public_quiz = quiz.slug if quiz is not None and quiz.visitor_campaign == camp.slug else None
    return render_template("console/campaign_showroom.html", form=form, campaign=camp,
                           catalog=catalog, public_quiz=public_quiz), status


@bp.route("/campaigns/<slug>/archive", methods=["GET", "POST"])
def archive_campaign(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    if request.method == "POST":
        archive = request.form.get("archive") == "1"
        logic.set_archived(camp, archive)
        db.session.commit()
        flash(_("Campaign archived.") if archive else _("Campaign restored."), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    return render_template("console/confirm_archive.html", campaign=camp)


