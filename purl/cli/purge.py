"""``flask --app wsgi purge``: delete what the retention says is kept no longer."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from purl import jobs
from purl.extensions import db


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete uploaded lists and their results (links, rejected rows, QR codes) of batches
    finished more than PURL_RETENTION_DAYS ago; the links themselves stay. Then events older
    than PURL_EVENT_RETENTION_DAYS or their campaign's own setting (the funnel's totals are
    counters and stay), and webhook messages sent or failed more than
    PURL_WEBHOOK_RETENTION_DAYS ago, and the API's answers to Idempotency-Keys older than a
    day. Job workers do the same every hour."""
    days = int(current_app.config["RETENTION_DAYS"])
    if days <= 0:
        click.echo("PURL_RETENTION_DAYS is 0: files are kept for ever, nothing deleted")
    else:
        report = jobs.purge_files(db.session, current_app.config)
        click.echo(f"retention {days} days: {report.summary()}")
    removed = jobs.purge_events(db.session, current_app.config)
    event_days = int(current_app.config["EVENT_RETENTION_DAYS"])
    rule = f"{event_days} days" if event_days > 0 else "kept for ever but where a campaign says"
    click.echo(f"event retention ({rule}): {removed} events deleted")
    webhook_days = int(current_app.config["WEBHOOK_RETENTION_DAYS"])
    if webhook_days <= 0:
        click.echo("PURL_WEBHOOK_RETENTION_DAYS is 0: webhook messages are kept for ever")
    else:
        sent = jobs.purge_webhooks(db.session, current_app.config)
        click.echo(f"webhook retention {webhook_days} days: {sent} messages deleted")
    answers = jobs.purge_idempotency(db.session)
    click.echo(f"api idempotency keys older than a day: {answers} deleted")
