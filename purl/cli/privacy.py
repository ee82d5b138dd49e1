"""``flask privacy …``: a shopper's GDPR request from the command line (export, erase)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from purl import privacy
from purl.extensions import db
from purl.models import Campaign, Recipient

privacy_cli = click.Group("privacy", help="Answer a recipient's GDPR request.")


def _who(func):  # noqa: ANN001, ANN202 - a click decorator
    for option in reversed((
        click.option("--external-id", help="The recipient's customer number (CRM id)."),
        click.option("--email", help="The recipient's email address (any case)."),
        click.option("--recipient", "recipient_id", type=int, help="purl's recipient id."),
    )):
        func = option(func)
    return click.argument("campaign_slug")(func)


def _recipients(campaign_slug: str, external_id: str | None, email: str | None,
                recipient_id: int | None) -> list[Recipient]:
    if sum(v is not None for v in (external_id, email, recipient_id)) != 1:
        raise click.UsageError("name the recipient with one of --external-id, --email, "
                               "--recipient")
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == campaign_slug))
    if campaign is None:
        raise click.BadParameter(f"no campaign {campaign_slug!r}", param_hint="CAMPAIGN_SLUG")
    found = privacy.find_recipients(db.session, campaign, recipient_id=recipient_id,
                                    external_id=external_id, email=email)
    if not found:
        raise click.ClickException(f"no such recipient in {campaign_slug}")
    return found


@privacy_cli.command("export")
@_who
@with_appcontext
def export(campaign_slug: str, external_id: str | None, email: str | None,
           recipient_id: int | None) -> None:
    """Print everything stored about a recipient as JSON (one entry per link they have)."""
    found = _recipients(campaign_slug, external_id, email, recipient_id)
    data = {"campaign": campaign_slug,
            "recipients": [privacy.export_recipient(db.session, r) for r in found]}
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@privacy_cli.command("erase")
@_who
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase(campaign_slug: str, external_id: str | None, email: str | None,
          recipient_id: int | None, yes: bool) -> None:
    """Erase a recipient: personal data and answers go, the link answers 410, events stay as
    anonymous counts, the funnel's totals do not change. Recorded in the erasure audit."""
    found = _recipients(campaign_slug, external_id, email, recipient_id)
    if not yes:
        click.confirm(f"Erase {len(found)} recipient(s) of {campaign_slug}? This cannot be "
                      "undone", abort=True)
    for recipient in found:
        privacy.erase_recipient(db.session, recipient, "cli")
    db.session.commit()
    ids = ", ".join(str(r.id) for r in found)
    click.echo(f"erased {len(found)} recipient(s) of {campaign_slug}: {ids}")


@privacy_cli.command("retention")
@click.argument("campaign_slug")
@click.argument("days", type=int, required=False)
@click.option("--install", "use_install", is_flag=True,
              help="Follow PURL_EVENT_RETENTION_DAYS again.")
@with_appcontext
def retention(campaign_slug: str, days: int | None, use_install: bool) -> None:
    """Keep the campaign's events DAYS days (0: for ever), or as the install says."""
    if (days is None) == (not use_install):
        raise click.UsageError("give DAYS or --install")
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == campaign_slug))
    if campaign is None:
        raise click.BadParameter(f"no campaign {campaign_slug!r}", param_hint="CAMPAIGN_SLUG")
    try:
        privacy.set_event_retention(campaign, days)
    except ValueError:
        raise click.BadParameter(f"between 0 and {privacy.MAX_RETENTION_DAYS}",
                                 param_hint="DAYS") from None
    db.session.commit()
    rule = "as PURL_EVENT_RETENTION_DAYS says" if days is None else (
        "for ever" if days == 0 else f"{days} days")
    click.echo(f"events of {campaign_slug} are kept {rule}")
