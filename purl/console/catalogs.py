"""Catalogs in the console: what each shop's catalog holds, and catalog files imported as a
job (upload, preview of the detected format, the column mapping and the shop's choices, live
progress, every skipped row with its reason)."""

from __future__ import annotations

import csv
import io
import logging

from flask import Response, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from purl import jobs
from purl.catalog import catalogs, importing
from purl.catalog.imports import FeedError, Reason
from purl.console import bp
from purl.extensions import db
from purl.models import CatalogImport
from purl.spreadsheet import safe_row
from purl.web import accepts_upload, leave_to, render_page

log = logging.getLogger(__name__)

FIELD_LABELS = {
    "sku": _l("Product number (SKU)"), "title": _l("Product name"),
    "description": _l("Description"), "price": _l("Price"),
    "compare_at_price": _l("Former price (struck through)"), "currency": _l("Currency"),
    "url": _l("Product link"), "image_url": _l("Image link"), "category": _l("Category"),
    "product_type": _l("Product type"), "brand": _l("Brand"), "tags": _l("Tags"),
    "available": _l("Available / in stock"),
    importing.ATTRIBUTE: _l("Keep as attribute (for quiz filters)"),
}
FORMAT_LABELS = {"auto": _l("Detect"), "shopify": _l("Shopify product export"),
                 "merchant": _l("Google Merchant Center feed"),
                 "csv": _l("Article list (CSV, TSV or Excel)")}
CURRENCIES = ("EUR", "CHF", "USD", "GBP", "DKK", "PLN", "SEK", "CZK")
SKIPPED_SHOWN = 200  # on the page; the download holds them all


def _import(import_id: int) -> CatalogImport:
    found = db.session.get(CatalogImport, import_id)
    if found is None:
        abort(404)
    return found


@bp.get("/catalogs")
def catalogs_page():  # noqa: ANN201
    return render_template("console/catalogs.html", catalogs=catalogs.overview(db.session),
                           imports=importing.recent(db.session), problem=None)


@bp.post("/catalogs/imports")
@accepts_upload
def upload_catalog():  # noqa: ANN201
    upload = request.files.get("file")
    try:
        name, title = importing.catalog_for(db.session, request.form.get("catalog"),
                                            request.form.get("new_title"))
    except ValueError as exc:
        problem = exc.args[0].translated(_)
        return render_template("console/catalogs.html", catalogs=catalogs.overview(db.session),
                               imports=importing.recent(db.session), problem=problem), 422
    if upload is None or not upload.filename:
        return render_template("console/catalogs.html", catalogs=catalogs.overview(db.session),
                               imports=importing.recent(db.session),
                               problem=_("Please choose the catalog file to upload.")), 422
    found = importing.store_upload(db.session, upload.stream, upload.filename, name, title,
                                   current_user)
    db.session.commit()
    log.info("catalog file uploaded as import %s for catalog %s", found.id, name)
    return leave_to(url_for("console.catalog_import", import_id=found.id))


def _options(seen: importing.Preview) -> importing.Options:
    form = request.form
    mapping = {name: form.get(f"map-{i}", importing.ATTRIBUTE)
               for i, name in enumerate(seen.header)} if seen.format == "csv" else {}
    currency = (form.get("currency") or "").strip() or None
    return importing.Options(
        format=seen.format, mapping=mapping, currency=currency,
        shop_url=(form.get("shop_url") or "").strip() or None,
        url_pattern=(form.get("url_pattern") or "").strip() or None,
        sheet=(form.get("sheet") or "").strip() or seen.sheet or None,
        full=form.get("full") == "1")


def _preview_page(found: CatalogImport, options: importing.Options | None = None,
                  problems: list[str] | None = None, status: int = 200):  # noqa: ANN202
    sheet = (request.values.get("sheet") or "").strip() or None
    try:
        seen = importing.preview(db.session, found, sheet)
    except (FeedError, OSError) as exc:
        reason = exc.translated(_) if isinstance(exc, FeedError) else str(exc)
        return render_template("console/catalog_import.html", found=found, preview=None,
                               unreadable=reason), 422
    options = options or importing.Options(format=seen.format, mapping=seen.mapping)
    return render_template(
        "console/catalog_import.html", found=found, preview=seen, unreadable=None,
        options=options, problems=problems or [], fields=FIELD_LABELS,
        formats=FORMAT_LABELS, currencies=CURRENCIES), status


@bp.get("/catalogs/imports/<int:import_id>")
def catalog_import(import_id: int):  # noqa: ANN201
    found = _import(import_id)
    if found.status == "uploaded":
        return _preview_page(found)
    return render_page("console/catalog_import.html", "console/_catalog_import_progress.html",
                       found=found, preview=None, unreadable=None, error=_error(found),
                       skipped_rows=_skipped(found))


def _error(found: CatalogImport) -> str | None:
    if found.status != "failed" or not found.error:
        return None
    return Reason.restored(found.error).translated(_)


def _skipped(found: CatalogImport) -> list[tuple[int, str]]:
    if found.status != "done" or not found.skipped:
        return []
    return [(row, reason.translated(_)) for row, reason
            in importing.skipped_rows(db.session, found, SKIPPED_SHOWN)]


@bp.post("/catalogs/imports/<int:import_id>")
def start_catalog_import(import_id: int):  # noqa: ANN201
    found = _import(import_id)
    here = url_for("console.catalog_import", import_id=found.id)
    if found.status in importing.PENDING:
        flash(_("This file is being imported already."), "info")
        return leave_to(here)
    if found.status == "failed":  # start again with the choices it had
        options = importing.Options.restored(found.options)
    else:
        try:
            seen = importing.preview(db.session, found, request.form.get("sheet") or None)
        except (FeedError, OSError):
            return _preview_page(found)
        options = _options(seen)
        problems = importing.check_options(seen, options)
        if problems:
            return _preview_page(found, options, [p.translated(_) for p in problems], 422)
    if not importing.queue(db.session, found, options):
        db.session.rollback()
        flash(_("This file is being imported already."), "info")
        return leave_to(here)
    db.session.commit()
    # A worker imports it (make run starts one); the page follows its progress from the row.
    if current_app.config.get("CONSOLE_BATCH_WAIT"):
        jobs.run_catalog_import_here(found.id)  # tests: the page after the redirect shows it
    else:
        jobs.enqueue_catalog_import(found.id)
    log.info("catalog import %s queued", found.id)
    return leave_to(here)


@bp.get("/catalogs/imports/<int:import_id>/skipped.csv")
def catalog_import_skipped(import_id: int):  # noqa: ANN201
    found = _import(import_id)
    if found.status != "done":
        abort(404)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 only with its BOM
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_("Row"), _("Reason")])
    for row, reason in importing.skipped_rows(db.session, found):
        # A reason quotes the file's cells: never a formula when Excel opens it.
        writer.writerow(safe_row([str(row), reason.translated(_)]))
    filename = f"catalog-import-{found.id}-skipped.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
