"""``flask user …``: marketer accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from purl.accounts import create_user
from purl.extensions import db

user_cli = click.Group("user", help="Manage marketer accounts.")


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["marketer", "admin"]), default="marketer")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def create(email: str, role: str, password: str) -> None:
    """Create a console user; the password is asked for twice."""
    try:
        user = create_user(db.session, email, password, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")
