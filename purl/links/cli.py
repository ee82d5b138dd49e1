"""``flask campaign …``: campaigns from the command line."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import Campaign
from ..quiz.definition import get_quiz

campaign_cli = click.Group("campaign", help="Campaigns.")


@campaign_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Shown in the console.")
@click.option("--quiz", "quiz_slug", required=True, help="Slug of a quiz in quizzes/.")
@click.option("--base-url", help="Links start with this instead of PURL_BASE_URL.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), help="Links stop working then.")
@click.option("--locale", type=click.Choice(["de", "en"]), default="de")
@click.option("--tone", type=click.Choice(["du", "sie"]), default="du")
@click.option("--message", default="", help="Shown under the greeting on the landing page.")
@with_appcontext
def create(slug: str, name: str, quiz_slug: str, base_url: str | None,
           expires: dt.datetime | None, locale: str, tone: str, message: str) -> None:
    """Create a campaign whose recipients take the quiz QUIZ."""
    if get_quiz(current_app.config["QUIZ_FOLDER"], quiz_slug) is None:
        raise click.BadParameter(f"no valid quiz {quiz_slug!r} in quizzes/", param_hint="--quiz")
    if db.session.scalar(select(Campaign).where(Campaign.slug == slug)):
        raise click.BadParameter(f"a campaign {slug!r} exists already", param_hint="SLUG")
    campaign = Campaign(
        slug=slug, name=name, quiz_slug=quiz_slug, base_url=base_url, locale=locale, tone=tone,
        message=message, variants=[],
        expires_at=expires.replace(tzinfo=dt.UTC) if expires else None,
    )
    db.session.add(campaign)
    db.session.commit()
    click.echo(f"created campaign {slug}")
