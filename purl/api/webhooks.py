"""``/api/v1/webhooks``: endpoints for one campaign or the whole install, their secret, a
test event, the delivery log with each attempt, and replay. The rules are purl.webhooks',
as in the console; a key reaches the endpoints of the campaigns it reaches, and an install's
endpoints only as an admin's key for all campaigns."""

from __future__ import annotations

import logging
from json import loads

from flask import current_app, g
from spectree import Response
from sqlalchemy import select

from purl import apikeys, jobs
from purl.api import bp, current_key, spec, takes_json
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.idempotency import idempotent
from purl.api.paging import decode, encode, page
from purl.api.problems import ApiProblem, field_error
from purl.campaigns import access
from purl.extensions import db
from purl.models import Campaign, WebhookDelivery, WebhookEndpoint, as_utc
from purl.webhooks import delivery, endpoints

log = logging.getLogger(__name__)
TAGS = ("webhooks",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}
_WRITE_ERRORS = {"HTTP_403": s.Problem, **_ERRORS}
_BODY_ERRORS = {"HTTP_400": s.Problem, "HTTP_415": s.Problem, **_WRITE_ERRORS}

# The engine's code words (endpoints.WebhookError) as the field and message of a 422.
_REFUSALS = {
    "url": ("url", "not a web address such as https://crm.example/hook"),
    "scheme": ("url", "only http:// and https:// addresses receive events"),
    "credentials": ("url", "the address must not contain a user name or password"),
    "private": ("url", "loopback and private addresses receive no events on this install"),
    "description": ("description", "at most 200 characters"),
    "event-type": ("event_types", "not an event type of purl"),
    "install": ("campaign", "only an admin's key for all campaigns makes an endpoint for "
                            "every campaign"),
}


def _install_role(key: apikeys.ApiKey) -> access.Role | None:
    """A key's role on the install's endpoints: an admin's key for all campaigns (read-only:
    viewer), none for any other key."""
    if not (key.user.is_admin and key.all_campaigns):
        return None
    return "viewer" if key.read_only else "owner"


def _role(endpoint: WebhookEndpoint) -> access.Role | None:
    """The key's role on the endpoint, asked once per campaign and request: the access
    check and the answer both need it, and a list has many endpoints of one campaign."""
    roles = g.setdefault("webhook_roles", {})
    if endpoint.campaign_id not in roles:
        key = current_key()
        roles[endpoint.campaign_id] = (
            _install_role(key) if endpoint.campaign is None
            else apikeys.role_for(db.session, key, endpoint.campaign))
    return roles[endpoint.campaign_id]


def _endpoint(endpoint_id: int, right: access.Right) -> WebhookEndpoint:
    """The endpoint if the key has ``right`` on it: 404 when it cannot see it, 403 when it
    sees but may not change it (as campaign_for)."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    role = _role(endpoint) if endpoint is not None else None
    if role is None:
        raise ApiProblem(404)
    if not access.allows(role, right):
        raise ApiProblem(403, "This key may view this endpoint but not change it.")
    return endpoint


def _refused(exc: endpoints.WebhookError) -> ApiProblem:
    field, message = _REFUSALS.get(str(exc), ("url", str(exc)))
    return ApiProblem(422, errors=[field_error(field, message)])


def webhook_out(endpoint: WebhookEndpoint) -> s.Webhook:
    may_edit = access.allows(_role(endpoint), access.EDIT)
    return s.Webhook(
        id=endpoint.id, url=endpoint.url,
        campaign=endpoint.campaign.slug if endpoint.campaign else None,
        event_types=list(endpoint.event_types or ()), description=endpoint.description or "",
        enabled=endpoint.enabled, disabled_reason=endpoint.disabled_reason,
        secret=endpoint.secret if may_edit else None, created_at=as_utc(endpoint.created_at))


def _delivery_fields(found: WebhookDelivery) -> dict:
    return dict(
        id=found.id, webhook_id=found.message.uid, event_type=found.message.event_type,
        status=found.status, attempts=found.attempts, last_status=found.last_status,
        last_error=found.last_error, last_attempt_at=as_utc(found.last_attempt_at),
        next_attempt_at=as_utc(found.next_attempt_at) if found.status == "pending" else None,
        delivered_at=as_utc(found.delivered_at), created_at=as_utc(found.message.created_at))


def _delivery_out(found: WebhookDelivery) -> s.WebhookDelivery:
    return s.WebhookDelivery(**_delivery_fields(found))


def _delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    found = delivery.delivery_of(db.session, endpoint, delivery_id)
    if found is None:
        raise ApiProblem(404)
    return found


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


@bp.get("/webhooks")
@spec.validate(query=s.PageQuery, resp=Response(HTTP_200=s.WebhookPage, **_ERRORS),
               tags=TAGS, operation_id="listWebhooks")
def list_webhooks(query: s.PageQuery):  # noqa: ANN201
    """The endpoints of the campaigns this key reaches (and, for an admin's key for all
    campaigns, the install's), oldest first."""
    key = current_key()
    campaigns = select(Campaign.id).where(apikeys.visible(key))
    rows, cursor = page(db.session, endpoints.reachable(campaigns, _install_role(key) is not None),
                        WebhookEndpoint.id, query.limit, query.cursor)
    return s.WebhookPage(items=[webhook_out(e) for e in rows], next_cursor=cursor)


@bp.post("/webhooks")
@takes_json
@idempotent
@spec.validate(json=s.WebhookCreate, resp=Response(HTTP_201=s.Webhook, **_BODY_ERRORS),
               tags=TAGS, operation_id="createWebhook")
def create_webhook(json: s.WebhookCreate):  # noqa: ANN201
    """A new endpoint for a campaign the key may change, or for every campaign; the answer
    holds its signing secret."""
    key = current_key()
    camp = None
    if json.campaign is not None:
        camp = campaign_for(json.campaign, access.EDIT)
    elif _install_role(key) != "owner":
        raise _refused(endpoints.WebhookError("install"))
    try:
        endpoint = endpoints.create_endpoint(
            db.session, key.user, json.url, campaign=camp, event_types=json.event_types,
            description=json.description, allow_private=_allow_private())
    except endpoints.WebhookError as exc:
        raise _refused(exc) from None
    db.session.commit()
    log.info("webhook endpoint %s created through api key %s", endpoint.id, key.id)
    return webhook_out(endpoint), 201, {"Location": f"/api/v1/webhooks/{endpoint.id}"}


@bp.get("/webhooks/<int:endpoint_id>")
@spec.validate(resp=Response(HTTP_200=s.Webhook, **_ERRORS), tags=TAGS,
               operation_id="getWebhook")
def get_webhook(endpoint_id: int):  # noqa: ANN201
    """One endpoint (its secret only for a key that may change it)."""
    return webhook_out(_endpoint(endpoint_id, access.VIEW))


@bp.patch("/webhooks/<int:endpoint_id>")
@takes_json
@spec.validate(json=s.WebhookUpdate, resp=Response(HTTP_200=s.Webhook, **_BODY_ERRORS),
               tags=TAGS, operation_id="updateWebhook")
def update_webhook(endpoint_id: int, json: s.WebhookUpdate):  # noqa: ANN201
    """Change the fields given; switched on again, what waited is sent."""
    endpoint = _endpoint(endpoint_id, access.EDIT)
    changes = json.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise ApiProblem(422, errors=[field_error(name, "cannot be null")])
    try:
        endpoints.update_endpoint(
            endpoint, url=changes.get("url", endpoint.url),
            description=changes.get("description", endpoint.description or ""),
            event_types=changes.get("event_types", endpoint.event_types or []),
            enabled=changes.get("enabled", endpoint.enabled), allow_private=_allow_private())
    except endpoints.WebhookError as exc:  # raised before anything changed
        raise _refused(exc) from None
    db.session.commit()
    if endpoint.enabled:
        jobs.enqueue_webhooks()
    return webhook_out(endpoint)


@bp.delete("/webhooks/<int:endpoint_id>")
@spec.validate(resp=Response(HTTP_204=None, **_WRITE_ERRORS), tags=TAGS,
               operation_id="deleteWebhook")
def delete_webhook(endpoint_id: int):  # noqa: ANN201
    """Delete the endpoint and its delivery log: it receives nothing more."""
    endpoint = _endpoint(endpoint_id, access.EDIT)
    endpoints.delete_endpoint(db.session, endpoint)
    db.session.commit()
    log.info("webhook endpoint %s deleted through the api", endpoint_id)
    return "", 204


@bp.post("/webhooks/<int:endpoint_id>/secret")
@spec.validate(resp=Response(HTTP_200=s.Webhook, **_WRITE_ERRORS), tags=TAGS,
               operation_id="rotateWebhookSecret")
def rotate_webhook_secret(endpoint_id: int):  # noqa: ANN201
    """A new signing secret, in the answer: every event from now on is signed with it."""
    endpoint = _endpoint(endpoint_id, access.EDIT)
    endpoints.rotate_secret(endpoint)
    db.session.commit()
    log.info("webhook endpoint %s secret rotated through the api", endpoint.id)
    return webhook_out(endpoint)


@bp.post("/webhooks/<int:endpoint_id>/test")
@spec.validate(resp=Response(HTTP_202=s.WebhookDelivery, **_WRITE_ERRORS), tags=TAGS,
               operation_id="testWebhook")
def test_webhook(endpoint_id: int):  # noqa: ANN201
    """Queue a `webhook.test` event to this endpoint alone; poll the delivery it answers."""
    endpoint = _endpoint(endpoint_id, access.EDIT)
    message_id = endpoints.send_test(db.session, endpoint)
    found = delivery.of_message(db.session, endpoint, message_id)
    db.session.commit()
    jobs.enqueue_webhooks()
    return _delivery_out(found), 202, {
        "Location": f"/api/v1/webhooks/{endpoint.id}/deliveries/{found.id}"}


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@spec.validate(query=s.PageQuery, resp=Response(HTTP_200=s.WebhookDeliveryPage, **_ERRORS),
               tags=TAGS, operation_id="listWebhookDeliveries")
def list_webhook_deliveries(endpoint_id: int, query: s.PageQuery):  # noqa: ANN201
    """The endpoint's delivery log, newest first."""
    endpoint = _endpoint(endpoint_id, access.VIEW)
    rows = delivery.log_for(db.session, endpoint, query.limit + 1, before=decode(query.cursor))
    more, rows = len(rows) > query.limit, rows[:query.limit]
    return s.WebhookDeliveryPage(items=[_delivery_out(d) for d in rows],
                                 next_cursor=encode(rows[-1].id) if more else None)


@bp.get("/webhooks/<int:endpoint_id>/deliveries/<bigint:delivery_id>")
@spec.validate(resp=Response(HTTP_200=s.WebhookDeliveryDetail, **_ERRORS), tags=TAGS,
               operation_id="getWebhookDelivery")
def get_webhook_delivery(endpoint_id: int, delivery_id: int):  # noqa: ANN201
    """One delivery with the body sent and each attempt."""
    found = _delivery(_endpoint(endpoint_id, access.VIEW), delivery_id)
    return s.WebhookDeliveryDetail(
        **_delivery_fields(found), payload=loads(found.message.body),
        attempt_log=[s.WebhookAttempt(attempted_at=as_utc(a.attempted_at), status=a.status,
                                      error=a.error, milliseconds=a.milliseconds)
                     for a in delivery.attempts_of(db.session, found)])


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<bigint:delivery_id>/replay")
@spec.validate(resp=Response(HTTP_202=s.WebhookDelivery, **_WRITE_ERRORS), tags=TAGS,
               operation_id="replayWebhookDelivery")
def replay_webhook_delivery(endpoint_id: int, delivery_id: int):  # noqa: ANN201
    """Send a delivery again from its first attempt, with the same `webhook-id`."""
    found = _delivery(_endpoint(endpoint_id, access.EDIT), delivery_id)
    delivery.replay(db.session, found)
    db.session.commit()
    jobs.enqueue_webhooks()
    return _delivery_out(found), 202


@bp.post("/webhooks/<int:endpoint_id>/replay")
@spec.validate(resp=Response(HTTP_202=s.WebhookReplay, **_WRITE_ERRORS), tags=TAGS,
               operation_id="replayFailedWebhooks")
def replay_failed_webhooks(endpoint_id: int):  # noqa: ANN201
    """Send every failed delivery of the endpoint again (once the receiver is fixed)."""
    endpoint = _endpoint(endpoint_id, access.EDIT)
    count = endpoints.replay_failed(db.session, endpoint)
    db.session.commit()
    jobs.enqueue_webhooks()
    return s.WebhookReplay(replayed=count), 202
