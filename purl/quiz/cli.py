"""``flask quiz check``: validate quiz files before they go live."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .definition import QuizError, load_quiz_file

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
            click.echo(f"error: {exc}", err=True)
        else:
            click.echo(f"ok: {file.name} ({quiz.slug}, {len(quiz.questions)} questions, "
                       f"version {quiz.version})")
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} quiz files have errors")
