"""Webhook endpoints in the console: the list, a new endpoint (for one campaign the user may
edit, or, for admins, the whole install), its settings and secret, the delivery log with
each attempt, replay and a test event. The rules are purl.webhooks'; this parses and shows."""

from __future__ import annotations

import json
import logging

from flask import abort, current_app, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from purl import jobs
from purl.campaigns import access
from purl.console import bp
from purl.console.forms import WEBHOOK_EVENT_CHOICES, WebhookEditForm, WebhookForm
from purl.extensions import db
from purl.models import Campaign, WebhookDelivery, WebhookEndpoint
from purl.web import leave_to, render_page
from purl.webhooks import delivery, endpoints

log = logging.getLogger(__name__)

DELIVERIES_PER_PAGE = 50
_LAST_ID = 2**63 - 2

# The engine's code words (endpoints.WebhookError, delivery.Outcome.error and an endpoint's
# disabled_reason) in the marketer's words: one table for the forms and the delivery log.
REASONS = {
    "url": _l("This is not a web address: it should look like https://crm.example/hook."),
    "scheme": _l("Only addresses starting with https:// or http:// can receive events."),
    "credentials": _l("The address must not contain a user name or password."),
    "private": _l("The address is on this server or in a private network, which purl does "
                  "not send to."),
    "unknown-host": _l("The server's name could not be found."),
    "description": _l("The description is too long (at most 200 characters)."),
    "event-type": _l("Please choose events from the list."),
    "install": _l("Only admins receive the events of every campaign."),
    "timeout": _l("No answer in time."),
    "refused": _l("The server refused the connection."),
    "tls": _l("The server's certificate was not accepted (TLS)."),
    "connection": _l("The connection broke off."),
    "redirect": _l("The server answered with a redirect, which purl does not follow."),
    "status": _l("The server answered with an error."),
    "gone": _l("The server answered 410 (gone): purl switched the endpoint off."),
    "user": _l("Switched off in the console."),
}
EVENT_LABELS = {choice.value: choice.label for choice in WEBHOOK_EVENT_CHOICES}
_FIELD_OF = {"description": "description", "event-type": "event_types"}  # others: the URL


@bp.app_template_filter("webhook_reason")
def webhook_reason(code: str | None) -> str:
    return str(REASONS.get(code, code or ""))


@bp.app_template_filter("webhook_event")
def webhook_event(event_type: str) -> str:
    return str(EVENT_LABELS.get(event_type, _("Test event") if event_type == "webhook.test"
                                else event_type))


def _editable_campaigns() -> list[Campaign]:
    """The campaigns whose events the user may send somewhere: those they may edit."""
    camps = db.session.scalars(select(Campaign).where(
        access.visible(current_user), Campaign.archived_at.is_(None))
        .order_by(Campaign.name)).all()
    return [c for c in camps
            if access.allows(access.role_for(db.session, c, current_user), access.EDIT)]


def _new_form() -> WebhookForm:
    form = WebhookForm()
    choices = [(c.slug, _("Campaign “%(name)s”", name=c.name)) for c in _editable_campaigns()]
    if current_user.is_admin:
        choices.insert(0, ("", _("Every campaign (the whole install)")))
    form.scope.choices = choices
    if not form.is_submitted() and request.args.get("campaign"):
        form.scope.data = request.args["campaign"]
    return form


def _list(form: WebhookForm, status: int = 200):  # noqa: ANN202
    visible = select(Campaign.id).where(access.visible(current_user))
    rows = endpoints.endpoints_of(db.session, visible, install=current_user.is_admin)
    return render_template("console/webhooks.html", endpoints=rows, form=form), status


def _refuse(form: WebhookForm | WebhookEditForm, exc: endpoints.WebhookError) -> None:
    target = getattr(form, _FIELD_OF.get(str(exc), "url"))
    target.errors = [*target.errors, str(REASONS[str(exc)])]


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


@bp.get("/webhooks")
def webhooks():  # noqa: ANN201
    return _list(_new_form())


@bp.post("/webhooks")
def create_webhook():  # noqa: ANN201
    form = _new_form()
    if not form.validate_on_submit():
        if form.scope.errors:  # WTForms says only "not a valid choice"; say which and why
            form.scope.errors = [str(REASONS["install"]) if not form.scope.data
                                 else _("Please choose one of your campaigns from the list.")]
        return _list(form, 422)
    campaign = None
    if form.scope.data:
        # The choices are the campaigns the user may edit, so validation checked the right.
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == form.scope.data))
    try:
        endpoint = endpoints.create_endpoint(
            db.session, current_user, form.url.data, campaign=campaign,
            event_types=form.event_types.data, description=form.description.data or "",
            allow_private=_allow_private())
    except endpoints.WebhookError as exc:
        _refuse(form, exc)
        return _list(form, 422)
    db.session.commit()
    log.info("webhook endpoint %s created in the console by %s", endpoint.id, current_user.id)
    flash(_("Endpoint created. Its signing secret is below: your tool checks each event "
            "with it."), "success")
    return leave_to(url_for("console.webhook", endpoint_id=endpoint.id))


def _endpoint(endpoint_id: int, right: access.Right) -> WebhookEndpoint:
    """The endpoint if the user has ``right`` on its campaign (an install's endpoint: admins
    alone); as campaign_or_404, one they may not see answers 404, one they may not change 403."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    if endpoint.campaign is None:
        if not current_user.is_admin:
            abort(404)
        role = "owner"
    else:
        role = access.role_for(db.session, endpoint.campaign, current_user)
        if role is None:
            abort(404)
    if not access.allows(role, right):
        abort(403, description=_("You can view this endpoint but not change it."))
    g.webhook_can_edit = access.allows(role, access.EDIT)
    return endpoint


def _page_key() -> int | None:
    raw = request.args.get("before", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > _LAST_ID:
        abort(404)
    return int(raw)


def _edit_form(endpoint: WebhookEndpoint) -> WebhookEditForm:
    # A posted form's values win over the endpoint's (WTForms), unticked boxes included.
    return WebhookEditForm(obj=endpoint)


def _endpoint_page(endpoint: WebhookEndpoint, form: WebhookEditForm, status: int = 200):  # noqa: ANN202
    before = _page_key()
    log_rows = delivery.log_for(db.session, endpoint, DELIVERIES_PER_PAGE + 1, before=before)
    older = (log_rows[DELIVERIES_PER_PAGE - 1].id if len(log_rows) > DELIVERIES_PER_PAGE
             else None)
    return render_page("console/webhook.html", "console/_webhook_log.html", status,
                       endpoint=endpoint, form=form, deliveries=log_rows[:DELIVERIES_PER_PAGE],
                       older=older, paged=before is not None, can_edit=g.webhook_can_edit)


@bp.get("/webhooks/<int:endpoint_id>")
def webhook(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.VIEW)
    return _endpoint_page(endpoint, _edit_form(endpoint))


@bp.post("/webhooks/<int:endpoint_id>")
def edit_webhook(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    form = _edit_form(endpoint)
    if not form.validate_on_submit():
        return _endpoint_page(endpoint, form, 422)
    try:
        endpoints.update_endpoint(endpoint, url=form.url.data,
                                  description=form.description.data or "",
                                  event_types=form.event_types.data, enabled=form.enabled.data,
                                  allow_private=_allow_private())
    except endpoints.WebhookError as exc:  # raised before anything changed
        _refuse(form, exc)
        return _endpoint_page(endpoint, form, 422)
    db.session.commit()
    flash(_("Settings saved."), "success")
    if endpoint.enabled:
        jobs.enqueue_webhooks()  # what waited while it was off goes now
    return leave_to(url_for("console.webhook", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/test")
def test_webhook(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    endpoints.send_test(db.session, endpoint)
    db.session.commit()
    jobs.enqueue_webhooks()
    flash(_("Test event queued: it appears in the log below within seconds.")
          if endpoint.enabled else
          _("Test event queued: it is sent once the endpoint is switched on."), "success")
    return leave_to(url_for("console.webhook", endpoint_id=endpoint.id))


# A new secret and deletion ask first (GET: the question; POST: done), as revoking links does.
@bp.route("/webhooks/<int:endpoint_id>/secret", methods=["GET", "POST"])
def rotate_webhook_secret(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    if request.method == "GET":
        return render_template("console/confirm_webhook.html", endpoint=endpoint,
                               action="secret")
    endpoints.rotate_secret(endpoint)
    db.session.commit()
    log.info("webhook endpoint %s secret rotated by %s", endpoint.id, current_user.id)
    flash(_("New signing secret made: give it to your tool now, the old one no longer "
            "signs."), "success")
    return leave_to(url_for("console.webhook", endpoint_id=endpoint.id))


@bp.post("/webhooks/<int:endpoint_id>/replay")
def replay_failed_webhooks(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    count = endpoints.replay_failed(db.session, endpoint)
    db.session.commit()
    jobs.enqueue_webhooks()
    flash(_("%(num)d failed deliveries are sent again.", num=count) if count
          else _("No failed deliveries to send again."), "success")
    return leave_to(url_for("console.webhook", endpoint_id=endpoint.id))


@bp.route("/webhooks/<int:endpoint_id>/delete", methods=["GET", "POST"])
def delete_webhook(endpoint_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    if request.method == "GET":
        return render_template("console/confirm_webhook.html", endpoint=endpoint,
                               action="delete")
    url = endpoint.url
    endpoints.delete_endpoint(db.session, endpoint)
    db.session.commit()
    log.info("webhook endpoint %s deleted by %s", endpoint_id, current_user.id)
    flash(_("Endpoint %(url)s deleted: it receives nothing more.", url=url), "success")
    return leave_to(url_for("console.webhooks"))


def _delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    found = delivery.delivery_of(db.session, endpoint, delivery_id)
    if found is None:
        abort(404)
    return found


@bp.get("/webhooks/<int:endpoint_id>/deliveries/<bigint:delivery_id>")
def webhook_delivery(endpoint_id: int, delivery_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.VIEW)
    found = _delivery(endpoint, delivery_id)
    try:
        body = json.dumps(json.loads(found.message.body), indent=2, ensure_ascii=False)
    except ValueError:
        body = found.message.body
    return render_template("console/webhook_delivery.html", endpoint=endpoint, delivery=found,
                           attempts=delivery.attempts_of(db.session, found), body=body,
                           can_edit=g.webhook_can_edit)


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<bigint:delivery_id>/replay")
def replay_webhook(endpoint_id: int, delivery_id: int):  # noqa: ANN201
    endpoint = _endpoint(endpoint_id, access.EDIT)
    found = _delivery(endpoint, delivery_id)
    delivery.replay(db.session, found)
    db.session.commit()
    jobs.enqueue_webhooks()
    flash(_("Sent again with the same webhook-id: the log shows the new attempt within "
            "seconds.") if endpoint.enabled else
          _("Queued again: it is sent once the endpoint is switched on."), "success")
    return leave_to(url_for("console.webhook_delivery", endpoint_id=endpoint.id,
                            delivery_id=found.id))
