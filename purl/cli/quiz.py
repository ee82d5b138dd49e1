"""``flask quiz check`` validates quiz files before they go live; ``quiz report`` shows drop-off."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from purl.analytics.funnel import quiz_reach
from purl.extensions import db
from purl.models import Campaign
from purl.quiz.format import QuizError, get_quiz, json_schema, load_quiz_file
from purl.quiz.schema import localize

quiz_cli = click.Group("quiz", help="Quiz definitions.")


@quiz_cli.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def check(path: Path | None) -> None:
    """Validate one quiz file, or every file in the quiz folder."""
    folder = Path(current_app.config["QUIZ_FOLDER"])
    files = [path] if path and path.is_file() else sorted((path or folder).glob("*.y*ml"))
    if not files:
        raise click.ClickException(f"no quiz files in {path or folder}")
    failed = 0
    for file in files:
        try:
            quiz = load_quiz_file(file)
        except QuizError as exc:
            failed += 1
            for line in exc.messages():  # English, like the rest of the CLI
                click.echo(f"error: {line}", err=True)
        else:
            click.echo(f"ok: {file.name} ({quiz.slug}, {len(quiz.questions)} questions, "
                       f"version {quiz.version})")
            lacking = quiz.lacking_sie()
            if lacking:
                shown = "; ".join(lacking[:3]) + ("; …" if len(lacking) > 3 else "")
                click.echo(f"warning: {file.name}: {len(lacking)} text{'s' * (len(lacking) > 1)}"
                           f" in du {'have' if len(lacking) > 1 else 'has'} no Sie form, so Sie "
                           f"campaigns show this quiz in du: {shown}", err=True)
            if quiz.visitor_campaign and not _campaign_exists(quiz.visitor_campaign):
                click.echo(f"warning: {file.name}: visitor_campaign {quiz.visitor_campaign!r} "
                           "does not exist; visitors are not offered a link until it does "
                           "(campaign create)", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} quiz files have errors")


@quiz_cli.command("schema")
def schema() -> None:
    """Print the quiz file format as JSON Schema (for editors that check YAML as you type)."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _campaign_exists(slug: str) -> bool:
    try:
        return db.session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None
    except SQLAlchemyError:  # no database yet: checking the file is what was asked
        db.session.rollback()
        return True


@quiz_cli.command("report")
@click.argument("slug")
@click.option("--campaign", "campaign_slug", help="Only shoppers of this campaign.")
@with_appcontext
def report(slug: str, campaign_slug: str | None) -> None:
    """Shoppers who started, answered each question and completed: where the quiz loses them."""
    quiz = get_quiz(current_app.config["QUIZ_FOLDER"], slug)
    if quiz is None:
        raise click.ClickException(f"no valid quiz {slug!r} (see `quiz check`)")
    campaign_id = None
    if campaign_slug:
        campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == campaign_slug))
        if campaign_id is None:
            raise click.ClickException(f"no campaign {campaign_slug!r}")
    result = quiz_reach(db.session, [q.id for q in quiz.questions], quiz_slug=quiz.slug,
                        campaign_id=campaign_id)
    texts = {q.id: localize(q.text, "de") for q in quiz.questions}
    click.echo(f"{'':<10} {'answered':>8} {'of started':>10} {'left here':>9}")
    click.echo(f"started    {result.started:>8}")
    for row in result.questions:
        share = f"{row.of_started:>10.0%}" if row.of_started is not None else f"{'-':>10}"
        click.echo(f"{row.question_id:<10} {row.answered:>8} {share} {row.stopped_after:>9}  "
                   f"{texts.get(row.question_id, row.question_id)}")
    click.echo(f"completed  {result.completed:>8}")
