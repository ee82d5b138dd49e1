"""A campaign's links: search, preview as the recipient, revoke, erase (GDPR)."""


from __future__ import annotations

import json
import logging

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from purl import privacy
from purl.analytics import link_tally
from purl.campaigns import access
from purl.campaigns.variants import landing_copy
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.extensions import db
from purl.links import recipients
from purl.links.recipients import link_url, revoke
from purl.models import Campaign, Recipient
from purl.quiz import versions
from purl.shopper.journey import Journey
from purl.web import leave_to, render_page

log = logging.getLogger(__name__)

LINKS_PER_PAGE = 50
_LAST_ID = 2**63 - 2  # ids are 64-bit; anything past this is no page of any campaign


def _page_key(name: str) -> int | None:
    """The id a page starts after / ends before; a key no page has answers 404."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > _LAST_ID:  # isdigit: no sign, no space, no "1e9"
        abort(404)
    return int(raw)


@bp.get("/campaigns/<slug>/links")
def links(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.VIEW)
    query = request.args.get("q", "").strip()[:200]
    after, before = _page_key("after"), _page_key("before")
    page = recipients.search_recipients(db.session, camp, query, LINKS_PER_PAGE,
                                        after=None if before is not None else after,
                                        before=before)
    keys, base = current_app.config["SECRET_KEYS"], current_app.config["PURL_BASE_URL"]
    return render_page(
        "console/links.html", "console/_links_table.html", campaign=camp, query=query,
        links_page=page, paged=after is not None or before is not None,
        rows=[(r, link_url(r, camp, keys, base)) for r in page.rows],
    )


def _recipient(camp: Campaign, recipient_id: int) -> Recipient:
    recipient = recipients.campaign_recipient(db.session, camp, recipient_id)
    if recipient is None:
        abort(404)
    return recipient


class PreviewJourney(Journey):
    """The landing page's context for a preview: every link stays on the preview."""

    def url(self, endpoint: str, **values: str) -> str:
        return "#preview"


@bp.get("/campaigns/<slug>/links/<bigint:recipient_id>/preview")
def preview(slug: str, recipient_id: int):  # noqa: ANN201
    """The recipient's landing page as they would see it; no visit is recorded."""
    camp = campaign_or_404(slug, access.VIEW)
    recipient = _recipient(camp, recipient_id)
    quiz = versions.campaign_quiz(db.session, camp)
    if quiz is None:
        abort(404)
    g.locale = camp.locale
    trip = PreviewJourney(quiz=quiz, url_args={}, locale=camp.locale, campaign=camp,
                          recipient=recipient)
    headline, message = landing_copy(camp, recipient.variant)
    flash(_("Preview: this is what %(name)s sees. Visits here are not counted.",
            name=" ".join(filter(None, (recipient.first_name, recipient.last_name)))
            or _("this recipient")), "info")
    if recipient.revoked_at or camp.revoked_at:
        flash(_("This link is revoked: the shopper sees “This link is no longer valid”."),
              "error")
    return render_template("shopper/landing.html", journey=trip, headline=headline,
                           message=message)


@bp.route("/campaigns/<slug>/links/<bigint:recipient_id>/revoke", methods=["GET", "POST"])
def revoke_link(slug: str, recipient_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
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
    camp = campaign_or_404(slug, access.EDIT)
    if request.method == "POST":
        count = revoke(db.session, camp)
        db.session.commit()
        log.info("campaign %s: all links revoked", camp.id)
        flash(_("All %(count)d links of this campaign are revoked.", count=count), "success")
        return leave_to(url_for("console.campaign", slug=camp.slug))
    return render_template("console/confirm_revoke.html", campaign=camp, recipient=None,
                           count=link_tally.active_links(db.session, camp.id))




@bp.app_template_test("erased")
def erased_test(recipient: Recipient) -> bool:
    return privacy.is_erased(recipient)


@bp.get("/campaigns/<slug>/links/<bigint:recipient_id>/export")
def export_recipient(slug: str, recipient_id: int):  # noqa: ANN201
    """A recipient's GDPR access request (art. 15/20): everything stored about them as a
    JSON file, as `flask privacy export` and the API give it."""
    camp = campaign_or_404(slug, access.VIEW)
    recipient = _recipient(camp, recipient_id)
    data = {"campaign": camp.slug,
            "recipients": [privacy.export_recipient(db.session, recipient)]}
    log.info("campaign %s: data of recipient %s exported by %s", camp.id, recipient.id,
             current_user.id)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{camp.slug}-'
                             f'recipient-{recipient.id}.json"'})


@bp.route("/campaigns/<slug>/links/<bigint:recipient_id>/erase", methods=["GET", "POST"])
def erase_recipient(slug: str, recipient_id: int):  # noqa: ANN201
    """A recipient's GDPR erasure: personal data and answers go, the link answers 410, the
    funnel's totals stay (see purl.privacy)."""
    camp = campaign_or_404(slug, access.EDIT)
    recipient = _recipient(camp, recipient_id)
    if request.method == "POST":
        if not privacy.is_erased(recipient):
            privacy.erase_recipient(db.session, recipient, current_user.email, current_user)
            db.session.commit()
        flash(_("The recipient's personal data is erased; the link no longer works."),
              "success")
        return leave_to(url_for("console.links", slug=camp.slug))
    return render_template("console/confirm_erase.html", campaign=camp, recipient=recipient,
                           erased=privacy.is_erased(recipient))
