"""``flask quiz …``: check quiz files, import them as versions, publish, roll back, export;
``quiz report`` shows drop-off."""

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
from purl.quiz import images, versions
from purl.quiz.format import QuizError, json_schema, load_quiz_file
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
    quiz = versions.published_quiz(db.session, slug)
    if quiz is None:
        raise click.ClickException(f"no published quiz {slug!r} (see `quiz import`)")
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
    # Started and gone before the first answer: lost at the first question shown.
    click.echo(f"{'(none)':<10} {'':>8} {'':>10} {result.stopped_before_first:>9}  "
               "left before the first answer")
    for row in result.questions:
        share = f"{row.of_started:>10.0%}" if row.of_started is not None else f"{'-':>10}"
        click.echo(f"{row.question_id:<10} {row.answered:>8} {share} {row.stopped_after:>9}  "
                   f"{texts.get(row.question_id, row.question_id)}")
    click.echo(f"completed  {result.completed:>8}")


@quiz_cli.command("import")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish what is imported (else: drafts).")
@with_appcontext
def import_(paths: tuple[Path, ...], publish: bool) -> None:
    """Store quiz files (a folder: its *.yaml) as new versions of their quizzes.

    A file whose text is stored already stores nothing. If one file has errors, nothing of
    the run is stored."""
    try:
        done = versions.import_files(db.session, paths, publish=publish)
    except (QuizError, OSError, UnicodeDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing imported: {exc}") from None
    if not done:
        raise click.ClickException("no quiz files in " + ", ".join(map(str, paths)))
    db.session.commit()
    for item in done:
        number = item.version.number
        state = "published" if not item.version.is_draft else "draft"
        if item.created:
            click.echo(f"{item.slug}: version {number} stored ({state}"
                       f"{', now live' if item.published else ''})")
        else:
            click.echo(f"{item.slug}: unchanged, same as version {number} ({state}"
                       f"{', now live' if item.published else ''})")


def _stored(slug: str):  # noqa: ANN202
    stored = versions.stored_quiz(db.session, slug)
    if stored is None:
        raise click.ClickException(f"no quiz {slug!r} (see `quiz import`)")
    return stored


@quiz_cli.command("export")
@click.argument("slug")
@click.option("--version", "number", type=click.IntRange(min=1),
              help="This version (default: the published one, else the newest draft).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write SLUG.yaml into this folder instead of printing it.")
@with_appcontext
def export(slug: str, number: int | None, out_dir: Path | None) -> None:
    """Print a quiz version as its YAML file (``quiz check`` accepts it, ``quiz import``
    takes it back as the same version)."""
    try:
        found = versions.export(db.session, _stored(slug), number)
    except versions.VersionError as exc:
        raise click.ClickException(str(exc)) from None
    pictures = images.uploaded(versions.parsed(found))
    if out_dir is None:
        click.echo(found.content, nl=False)
        if pictures:
            click.echo(f"{len(pictures)} uploaded picture(s) not written: export with "
                       "--out FOLDER to keep them beside the file", err=True)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{slug}.yaml"
    # newline="": the text exactly as stored, so it imports back under the same hash.
    target.write_text(found.content, encoding="utf-8", newline="")
    written = images.export_images(db.session, versions.parsed(found), out_dir)
    click.echo(f"{target} (version {found.number})"
               + (f", {len(written)} picture(s) in {out_dir / 'uploads'}" if written else ""),
               err=True)


def _change(action, slug: str, number: int | None):  # noqa: ANN001, ANN202
    """Publish or roll back a stored quiz's version, committed; a refusal as the message."""
    try:
        found = action(db.session, _stored(slug), number)
    except (versions.VersionError, QuizError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    return found


@quiz_cli.command("publish")
@click.argument("slug")
@click.option("--version", "number", type=click.IntRange(min=1),
              help="This draft (default: the newest).")
@with_appcontext
def publish(slug: str, number: int | None) -> None:
    """Publish a draft: shoppers get it from now on (campaigns pinning a version excepted)."""
    found = _change(versions.publish, slug, number)
    click.echo(f"{slug}: version {found.number} published")


@quiz_cli.command("rollback")
@click.argument("slug")
@click.argument("number", type=click.IntRange(min=1))
@with_appcontext
def rollback(slug: str, number: int) -> None:
    """Publish an earlier version again."""
    found = _change(versions.roll_back, slug, number)
    click.echo(f"{slug}: version {found.number} published again")


@quiz_cli.command("history")
@click.argument("slug")
@with_appcontext
def history(slug: str) -> None:
    """Every version of a quiz, newest first: draft or when published, and which is live."""
    for entry in versions.history(db.session, _stored(slug)):
        v = entry.version
        when = ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in entry.published) or "draft"
        live = "  <- live" if entry.current else ""
        click.echo(f"v{v.number:<4} {v.content_hash}  {v.source:<24} {when}{live}")
