"""``flask campaign …`` and ``flask purl …``: campaigns and batches from the command line."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from purl.accounts import normalise_email
from purl.campaigns import access, records
from purl.extensions import db
from purl.links import batch, codes, qr
from purl.links import recipients as logic
from purl.models import Campaign, Recipient
from purl.quiz import versions

campaign_cli = click.Group("campaign", help="Campaigns.")


@campaign_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Shown in the console.")
@click.option("--quiz", "quiz_slug", required=True, help="Slug of a quiz in quizzes/.")
@click.option("--base-url", help="Links start with this instead of PURL_BASE_URL.")
@click.option("--expires", type=click.DateTime(["%Y-%m-%d"]), help="The last day links work.")
@click.option("--locale", type=click.Choice(["de", "en"]), default="de")
@click.option("--tone", type=click.Choice(["du", "sie"]), default="du")
@click.option("--message", default="", help="Shown under the greeting on the landing page.")
@click.option("--owner", "owner_email", metavar="EMAIL",
              help="The console user who owns it and shares it. Default: none (admins only).")
@with_appcontext
def create(slug: str, name: str, quiz_slug: str, base_url: str | None,
           expires: dt.datetime | None, locale: str, tone: str, message: str,
           owner_email: str | None) -> None:
    """Create a campaign whose recipients take the quiz QUIZ."""
    if versions.published_quiz(db.session, quiz_slug) is None:
        raise click.BadParameter(f"no published quiz {quiz_slug!r} (see `quiz import`)",
                                 param_hint="--quiz")
    if records.slug_taken(db.session, slug):
        raise click.BadParameter(f"a campaign {slug!r} exists already", param_hint="SLUG")
    owner = None
    if owner_email:
        owner = access.user_by_email(db.session, normalise_email(owner_email))
        if owner is None:
            raise click.BadParameter(f"no user {owner_email!r}", param_hint="--owner")
    # The console's rule: links work through the last day, in the shop's time zone.
    records.create_campaign(db.session, slug, {
        "name": name, "quiz_slug": quiz_slug, "locale": locale, "tone": tone,
        "message": message, "expires_on": expires.date() if expires else None,
    }, base_url=base_url, owner=owner)
    db.session.commit()
    click.echo(f"created campaign {slug}")


purl_cli = click.Group("purl", help="Personal links: batches from recipient lists, revocation.")


class _Bar:
    """A progress bar on stderr for big files (only on a terminal)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 50_000 or not sys.stderr.isatty():
            return
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows")
        sys.stderr.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _campaign(slug: str) -> Campaign:
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise click.BadParameter(f"no campaign {slug!r}", param_hint="CAMPAIGN_SLUG")
    return campaign


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column:
            raise click.BadParameter(f"{pair!r}: write COLUMN=FIELD", param_hint="--map")
        mapping[column] = target.strip()
    return mapping


@purl_cli.command("generate")
@click.argument("campaign_slug")
@click.argument("input_path", metavar="INPUT",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The list with links added; errors go to OUT.errors.csv.")
@click.option("--qr-dir", type=click.Path(file_okay=False, path_type=Path),
              help="One QR code per recipient in this folder, named after the customer "
                   "number (else the code); the qr_file column names it.")
@click.option("--qr-format", type=click.Choice(qr.FORMATS), default="svg", show_default=True)
@click.option("--qr-zip", is_flag=True, help="Put the QR codes into QR_DIR.zip instead.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help=f"Map a column to a field ({', '.join(batch.FIELDS)}, attribute).")
@click.option("--channel", type=click.Choice(batch.CHANNELS), default="email",
              show_default=True, help="Stamps the links; one link per person and channel.")
@click.option("--sheet", metavar="NAME",
              help="A workbook's sheet to read, by name or number (1 = the first, the default).")
@click.option("--dry-run", is_flag=True, help="Validate and report; mint nothing.")
@click.option("--seed-emails", default="", help="Comma-separated test addresses (seeds).")
@click.option("--excel", is_flag=True, help="Write UTF-8 with BOM, as Excel wants it.")
@click.option("--chunk-size", type=click.IntRange(1), default=10_000, hidden=True,
              help="Rows per block; a commit every ten blocks.")
@click.option("--workers", type=click.IntRange(0), default=None,
              help="Processes that read and mint blocks (0: this one only). "
                   "Default: every core, for files of more than a few blocks.")
@with_appcontext
def generate(campaign_slug: str, input_path: Path, out: Path, qr_dir: Path | None,
             qr_format: str, qr_zip: bool, maps: tuple[str, ...], channel: str,
             sheet: str | None, dry_run: bool, seed_emails: str, excel: bool, chunk_size: int,
             workers: int | None) -> None:
    """Add a personal link to every row of INPUT: a CRM or Excel export as CSV (any common
    encoding and delimiter) or a workbook (.xlsx, .xls, .ods: its first sheet, or --sheet)."""
    campaign = _campaign(campaign_slug)
    if qr_zip and qr_dir is None:
        qr_dir = out.with_name(out.stem + "-qr")
    options = batch.Options(
        channel=channel, mapping=_mapping(maps), dry_run=dry_run, qr_dir=qr_dir,
        qr_format=qr_format, qr_zip=qr_zip, seed_emails=seed_emails.split(","), excel=excel,
        chunk_size=chunk_size, workers=workers, sheet=sheet,
    )
    bar = _Bar()
    try:
        result = batch.generate(
            db.session, campaign, input_path, out, keys=current_app.config["SECRET_KEYS"],
            base_url=current_app.config["PURL_BASE_URL"], options=options, progress=bar,
        )
    except batch.BatchError as exc:
        bar.end()
        raise click.ClickException(f"{input_path}: {exc}") from exc
    bar.end()
    mapped = ", ".join(f"{column} → {name}" for name, column in result.mapping.items())
    click.echo(f"columns: {mapped}", err=True)
    if result.attributes:
        click.echo(f"kept on each recipient as extra columns (not in greetings): "
                   f"{', '.join(result.attributes)}; if one holds a name, an email or a "
                   "customer number, run again with --map COLUMN=FIELD", err=True)
    if result.ignored:
        click.echo(f"left out as IP or location data: {', '.join(result.ignored)} "
                   "(keep one with --map COLUMN=attribute)", err=True)
    if result.rejected:
        if dry_run:
            _echo_errors(result)
        click.echo(f"rejected rows with reasons: {result.errors_path}", err=True)
    for warning in result.warnings:
        click.echo("warning: row {row}, {column} {value!r}: {reason}".format(**warning), err=True)
    if result.warned > len(result.warnings):
        click.echo(f"… and {result.warned - len(result.warnings)} more warnings", err=True)
    click.echo(result.summary())
    if not result.usable:
        raise SystemExit(1)


def _echo_errors(result: batch.Result) -> None:
    """A dry run's rejected rows, as ``row N: reason``: what to fix before the real run."""
    assert result.errors_path is not None
    with result.errors_path.open(encoding="utf-8-sig", newline="") as errors:
        rows = csv.reader(errors, delimiter=result.delimiter)
        next(rows, None)
        for row in rows:
            click.echo(f"row {row[0]}: {row[1]}")


@purl_cli.command("revoke")
@click.argument("campaign_slug")
@click.option("--recipient", "recipient_ids", type=int, multiple=True,
              help="A recipient id (repeatable).")
@click.option("--code", "typed_codes", multiple=True, help="A recipient's typeable code.")
@click.option("--all", "everyone", is_flag=True, help="Every link of the campaign.")
@with_appcontext
def revoke(campaign_slug: str, recipient_ids: tuple[int, ...], typed_codes: tuple[str, ...],
           everyone: bool) -> None:
    """Withdraw links: they answer with a friendly 410 page from now on."""
    campaign = _campaign(campaign_slug)
    if everyone == bool(recipient_ids or typed_codes):
        raise click.UsageError("give --recipient ID, --code CODE, or --all")
    ids = list(recipient_ids)
    for typed in typed_codes:
        code = codes.normalise(typed)
        rid = code and db.session.scalar(
            select(Recipient.id).where(Recipient.code == code,
                                       Recipient.campaign_id == campaign.id))
        if not rid:
            raise click.BadParameter(f"no recipient of {campaign_slug} has the code {typed!r}",
                                     param_hint="--code")
        ids.append(rid)
    count = logic.revoke(db.session, campaign, None if everyone else ids)
    db.session.commit()
    click.echo(f"revoked {count} link{'s' if count != 1 else ''}")
