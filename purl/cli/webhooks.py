"""``flask webhook …``: webhook endpoints from the command line, through the same engine the
console and the API will use."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from purl import jobs
from purl.accounts import normalise_email
from purl.campaigns import access
from purl.extensions import db
from purl.models import Campaign, WebhookEndpoint
from purl.webhooks import EVENT_TYPES, endpoints

webhook_cli = click.Group("webhook", help="Manage the endpoints purl sends its events to.")

REASONS = {
    "url": "the address is not a valid http(s) URL",
    "scheme": "only http:// and https:// addresses are allowed",
    "credentials": "the address may not hold a user name or password",
    "private": "the address is on this machine or a private network "
               "(set PURL_WEBHOOK_ALLOW_PRIVATE=1 to allow it)",
    "description": "the description is longer than 200 characters",
    "event-type": "unknown event type",
    "install": "only an admin makes an endpoint for every campaign (name one with --campaign)",
}


@webhook_cli.command("create")
@click.argument("email")
@click.argument("url")
@click.option("--campaign", "slug", help="Only this campaign's events; without it every "
              "campaign's (admins only).")
@click.option("--event", "types", multiple=True, type=click.Choice(EVENT_TYPES),
              help="Only this event type (repeatable); without it every type.")
@click.option("--description", default="", help="What the endpoint is, e.g. the CRM's name.")
@with_appcontext
def create(email: str, url: str, slug: str | None, types: tuple[str, ...],
           description: str) -> None:
    """Create an endpoint for EMAIL's user; its signing secret is printed on the last line."""
    user = access.user_by_email(db.session, normalise_email(email))
    if user is None:
        raise click.ClickException(f"no user {email}")
    campaign = None
    if slug:
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
        if campaign is None or not access.allows(access.role_for(db.session, campaign, user),
                                                 access.EDIT):
            raise click.ClickException(f"no campaign {slug} that {user.email} may edit")
    try:
        endpoint = endpoints.create_endpoint(
            db.session, user, url, campaign=campaign, event_types=list(types),
            description=description,
            allow_private=bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"]))
    except endpoints.WebhookError as exc:
        raise click.ClickException(REASONS[str(exc)]) from None
    db.session.commit()
    click.echo(f"created endpoint {endpoint.id} for {slug or 'every campaign'}: "
               f"{', '.join(types) or 'every event type'}")
    click.echo("Its signing secret (the receiver verifies with it):")
    click.echo(endpoint.secret)


@webhook_cli.command("list")
@with_appcontext
def list_endpoints() -> None:
    """Every endpoint: id, campaign, state, address, event types."""
    for endpoint in db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)):
        scope = endpoint.campaign.slug if endpoint.campaign else "*"
        state = "on" if endpoint.enabled else f"off ({endpoint.disabled_reason})"
        click.echo(f"{endpoint.id}\t{scope}\t{state}\t{endpoint.url}\t"
                   f"{','.join(endpoint.event_types) or '*'}")


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise click.ClickException(f"no endpoint {endpoint_id}")
    return endpoint


@webhook_cli.command("test")
@click.argument("endpoint_id", type=int)
@with_appcontext
def send_test(endpoint_id: int) -> None:
    """Queue a webhook.test message to one endpoint (a worker sends it)."""
    endpoint = _endpoint(endpoint_id)
    endpoints.send_test(db.session, endpoint)
    db.session.commit()
    jobs.enqueue_webhooks()
    click.echo(f"queued a test message to endpoint {endpoint.id} ({endpoint.url})")


@webhook_cli.command("delete")
@click.argument("endpoint_id", type=int)
@with_appcontext
def delete(endpoint_id: int) -> None:
    """Delete an endpoint and its delivery log."""
    endpoint = _endpoint(endpoint_id)
    endpoints.delete_endpoint(db.session, endpoint)
    db.session.commit()
    click.echo(f"deleted endpoint {endpoint_id}")
