"""``flask catalog import``: bring a shop's product export or feed into one of the install's
catalogs; ``catalog list``: which there are."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from purl.catalog import catalogs
from purl.catalog.imports import FORMATS, FeedError
from purl.catalog.imports.plain import FIELDS
from purl.catalog.store import import_catalog
from purl.extensions import db

log = logging.getLogger(__name__)
catalog_cli = AppGroup("catalog", help="Import the shops' product catalogs.")


@catalog_cli.command("list")
def list_command() -> None:
    """The install's catalogs: name, products available of all, title."""
    for name, title, available, total in catalogs.overview(db.session):
        click.echo(f"{name}\t{available}/{total}\t{title}")


@catalog_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="shopify = Shopify product CSV export, merchant = Google Merchant Center "
                   "feed (XML or TSV), csv = the plain CSV described in the README.")
@click.option("--full", is_flag=True,
              help="The file is the whole catalog: products missing from it are marked "
                   "unavailable (never deleted).")
@click.option("--shop-url", metavar="URL",
              help="The storefront address; Shopify exports need it to build product links "
                   "(https://shop.example -> https://shop.example/products/<handle>).")
@click.option("--sheet", metavar="NAME",
              help="A workbook's sheet to read, by name or number (1 = the first, the default).")
@click.option("--map", "maps", metavar="COLUMN=FIELD", multiple=True,
              help="Which column holds which field (repeatable), for the plain format; fields: "
                   + " ".join(FIELDS) + ". German and English header names are recognised "
                   "without it (Artikelnummer, Bezeichnung, Preis, …).")
@click.option("--url-pattern", metavar="PATTERN",
              help="Builds product links for rows without one: "
                   "'https://shop.example/artikel/{sku}'.")
@click.option("--currency", metavar="CODE",
              help="The shop's currency for files that do not say (default EUR).")
@click.option("--catalog", "catalog_name", metavar="NAME", default=catalogs.DEFAULT,
              show_default=True,
              help="The catalog (a shop) to import into; a new name makes a new catalog.")
def import_command(path: str, fmt: str, full: bool, shop_url: str | None,
                   sheet: str | None, maps: tuple[str, ...], url_pattern: str | None,
                   currency: str | None, catalog_name: str) -> None:
    """Upsert the products in PATH (CSV, TSV, XML or a workbook: .xlsx, .xls, .ods) by the
    shop's product id or handle, within the catalog."""
    if not catalogs.NAME.match(catalog_name):
        raise click.BadParameter(f"{catalog_name!r}: lower-case letters, digits and - only",
                                 param_hint="--catalog")
    mapping = {}
    for item in maps:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise click.BadParameter(f"{item!r} is not COLUMN=FIELD", param_hint="--map")
        mapping[column.strip()] = target.strip()
    catalog = catalogs.ensure(db.session, catalog_name)
    try:
        report = import_catalog(db.session, path, fmt, full=full, shop_url=shop_url,
                                sheet=sheet, mapping=mapping, url_pattern=url_pattern,
                                currency=currency, catalog=catalog)
    except FeedError as exc:
        db.session.rollback()
        raise click.ClickException(f"{path}: {exc}") from None
    if report.imported == 0 and report.skipped:
        db.session.rollback()
    else:
        db.session.commit()
    for line, reason in report.skipped:
        click.echo(f"{path}:{line}: skipped: {reason}", err=True)
    click.echo(report.summary())
    if report.imported == 0:
        raise SystemExit(1)
