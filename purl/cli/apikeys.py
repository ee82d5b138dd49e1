"""``flask apikey …``: API keys from the command line, through the same engine as the console."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from purl import apikeys
from purl.accounts import normalise_email
from purl.campaigns.access import user_by_email
from purl.extensions import db
from purl.models import Campaign

apikey_cli = click.Group("apikey", help="Manage keys for the JSON API.")


@apikey_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the key is for, e.g. the CRM's name.")
@click.option("--campaign", "slugs", multiple=True,
              help="Only this campaign (repeatable); without it every campaign the user sees.")
@click.option("--read-only", is_flag=True, help="The key reads but never changes anything.")
@with_appcontext
def create(email: str, name: str, slugs: tuple[str, ...], read_only: bool) -> None:
    """Create a key for EMAIL's user; the key is printed once, alone on the last line."""
    user = user_by_email(db.session, normalise_email(email))
    if user is None:
        raise click.ClickException(f"no user {email}")
    campaigns = None
    if slugs:
        campaigns = []
        for slug in slugs:
            campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
            if campaign is None:
                raise click.ClickException(f"no campaign {slug}")
            campaigns.append(campaign)
    try:
        key, secret = apikeys.create_key(db.session, user, name, campaigns, read_only)
    except apikeys.ApiKeyError as exc:
        reason = {"name": "the key needs a name (up to 100 characters)",
                  "inactive": f"{user.email} is deactivated",
                  "campaign": f"{user.email} may not see every campaign named"}[str(exc)]
        raise click.ClickException(reason) from None
    db.session.commit()
    scope = ", ".join(slugs) if slugs else "every campaign the user sees"
    click.echo(f"created key {key.id} ({key.prefix}…) for {user.email}: {scope}"
               f"{', read-only' if read_only else ''}")
    click.echo("Store it now; it is not shown again:")
    click.echo(secret)


@apikey_cli.command("revoke")
@click.argument("reference")
@with_appcontext
def revoke(reference: str) -> None:
    """Revoke the key with this id or shown prefix (e.g. purl_AbC12xYz)."""
    key = apikeys.key_by_reference(db.session, reference)
    if key is None:
        raise click.ClickException(f"no single key {reference}")
    apikeys.revoke_key(key)
    db.session.commit()
    click.echo(f"revoked key {key.id} ({key.prefix}…)")
