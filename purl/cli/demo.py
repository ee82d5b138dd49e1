"""``flask demo load``: the demo shop, campaign and links."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from purl.demo.load import DEMO_PASSWORD, DEMO_USER, load_demo
from purl.extensions import db
from purl.links import codes
from purl.links.recipients import link_url
from purl.links.salutation import salutation_for
from purl.quiz.format import QuizError

demo_cli = click.Group("demo", help="The demo pet shop.")


@demo_cli.command("load")
@with_appcontext
def load() -> None:
    """Load the demo shop (idempotent) and print its personal links and console login."""
    try:
        summary = load_demo(db.session, current_app.static_url_path + "/",
                            Path(current_app.config["QUIZ_FOLDER"]))
    except QuizError as exc:
        db.session.rollback()
        raise click.ClickException(f"quiz not imported: {exc}") from None
    db.session.commit()
    config = current_app.config
    campaign = summary.campaign
    click.echo(
        f"Demo shop ready: {summary.products_created} products added, "
        f"{summary.products_updated} updated; campaign {campaign.slug!r}."
    )
    for imported in summary.quizzes:
        if imported.created:
            click.echo(f"Quiz {imported.slug!r}: version {imported.version.number} published.")
    click.echo("\nPersonal links (PURLs) of the demo recipients:")
    for recipient in summary.recipients:
        url = link_url(recipient, campaign, config["SECRET_KEYS"], config["PURL_BASE_URL"])
        click.echo(f"  {salutation_for(recipient, campaign):<32} {url}")
    base = config["PURL_BASE_URL"]
    first = summary.recipients[0]
    click.echo(f"\nTyped from a letter:  {base}/c/{codes.display(first.code)}  "
               f"({first.first_name}'s code; case and O for 0 do not matter)")
    click.echo(f"Quiz without a link:  {base}/q/{campaign.quiz_slug}")
    click.echo(f"Second demo quiz:     {base}/q/roestwerk  (a coffee roaster)")
    click.echo(f"Marketer console:     {base}/console/  ({DEMO_USER} / {DEMO_PASSWORD})")
