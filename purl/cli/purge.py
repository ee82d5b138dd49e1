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
    finished more than PURL_RETENTION_DAYS ago; the links themselves stay. Job workers do
    the same every hour."""
    days = int(current_app.config["RETENTION_DAYS"])
    if days <= 0:
        click.echo("PURL_RETENTION_DAYS is 0: files are kept for ever, nothing deleted")
        return
    report = jobs.purge_files(db.session, current_app.config)
    click.echo(f"retention {days} days: {report.summary()}")
