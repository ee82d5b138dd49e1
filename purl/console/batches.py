"""Recipient lists uploaded in the console: upload, mapping, minting, progress, downloads."""


from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.extensions import db
from purl.links import batch as engine
from purl.links.batch import columns, uploads
from purl.models import Batch, Campaign, utcnow
from purl.web import leave_to, render_page

log = logging.getLogger(__name__)



TARGET_LABELS = {
    "external_id": _l("Customer number"), "email": _l("Email address"),
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "gender": _l("Salutation / gender"), "title": _l("Title"), "company": _l("Company"),
    "seed": _l("Test recipient (seed)"), "attribute": _l("Keep as extra column"),
    "ignore": _l("Ignore"),
}
CHANNEL_LABELS = {"email": _l("Email"), "print": _l("Print (letter, flyer)"), "sms": _l("SMS"),
                  "whatsapp": _l("WhatsApp"), "push": _l("Push notification")}


def _batch(camp: Campaign, batch_id: int):  # noqa: ANN202
    found = uploads.campaign_batch(db.session, camp, batch_id)
    if found is None:
        abort(404)
    return found


@bp.post("/campaigns/<slug>/batches")
def upload_batch(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Please choose a CSV file to upload."), "error")
        return leave_to(url_for("console.campaign", slug=camp.slug) + "#upload")
    found = uploads.store_upload(db.session, camp, upload.stream, upload.filename,
                                 current_app.config["UPLOAD_FOLDER"])
    db.session.commit()
    log.info("campaign %s: list uploaded as batch %s", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _preview_page(camp: Campaign, found, mapping: dict | None = None,  # noqa: ANN001
                  problems: list[str] | None = None, status: int = 200):  # noqa: ANN202
    folder = uploads.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    try:
        seen = engine.preview(folder / uploads.INPUT)
    except (engine.BatchError, OSError) as exc:
        return render_template("console/batch.html", campaign=camp, batch=found, preview=None,
                               unreadable=_(str(exc))), 422
    return render_template(
        "console/batch.html", campaign=camp, batch=found, preview=seen,
        mapping=mapping or seen.mapping, problems=problems or [], targets=TARGET_LABELS,
        channels=CHANNEL_LABELS, channel=request.form.get("channel", "email"),
        qr=request.form.get("qr") == "1", unreadable=None,
    ), status


@bp.get("/campaigns/<slug>/batches/<int:batch_id>")
def batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug)
    found = _batch(camp, batch_id)
    if found.status == "uploaded":
        return _preview_page(camp, found)
    folder = uploads.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    return render_page("console/batch.html", "console/_batch_progress.html", campaign=camp,
                       batch=found, preview=None, unreadable=None,
                       has_qr=(folder / uploads.QR).exists())


@bp.post("/campaigns/<slug>/batches/<int:batch_id>")
def mint_batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug)
    found = _batch(camp, batch_id)
    if found.status != "uploaded":
        flash(_("This list is being minted already."), "info")
        return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))
    folder = uploads.folder_of(current_app.config["UPLOAD_FOLDER"], found)
    try:
        header = engine.preview(folder / uploads.INPUT, rows=0).header
    except (engine.BatchError, OSError):
        return _preview_page(camp, found)
    mapping = {name: request.form.get(f"map-{i}", "attribute") for i, name in enumerate(header)}
    channel = request.form.get("channel", "email")
    problems = []
    for kind, column, other in columns.check_mapping(mapping):
        if kind == "twice":
            problems.append(_("Columns “%(column)s” and “%(other)s” both hold the same field; "
                              "choose it for one of them only.", column=column, other=other))
        elif kind == "identity":
            problems.append(_("No column holds a customer number, an email address or a name: "
                              "choose one so every recipient can be told apart."))
        else:
            problems.append(_("Column “%(column)s”: please choose a field from the list.",
                              column=column))
    if channel not in CHANNEL_LABELS:
        problems.append(_("Please choose a channel from the list."))
    if problems:
        return _preview_page(camp, found, mapping, problems, 422)
    claimed = uploads.queue(db.session, found)
    db.session.commit()
    if not claimed:
        flash(_("This list is being minted already."), "info")
        return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))
    thread = _start(current_app._get_current_object(), found.id, mapping, channel,
                           request.form.get("qr") == "1")
    if current_app.config.get("CONSOLE_BATCH_WAIT"):
        thread.join()  # tests: the page after the redirect shows the finished batch
    log.info("campaign %s: batch %s queued", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _download(slug: str, batch_id: int, name: str, label: str, mimetype: str):  # noqa: ANN202
    camp = campaign_or_404(slug)
    found = _batch(camp, batch_id)
    path = uploads.folder_of(current_app.config["UPLOAD_FOLDER"], found) / name
    if found.status != "done" or not path.exists():
        abort(404)
    suffix = name.rsplit(".", 1)[1]
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=f"{camp.slug}-{found.id}-{label}.{suffix}")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/links.csv")
def batch_output(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.OUTPUT, "links", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/errors.csv")
def batch_errors(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.ERRORS, "errors", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/qr.zip")
def batch_qr(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.QR, "qr", "application/zip")


# The console's batch runs in a thread of this web process until the job queue takes it.
def _run(app: Flask, batch_id: int, mapping: Mapping[str, str], channel: str, qr: bool) -> None:
    """Mint a queued batch; runs in its own thread with its own app context and session."""
    with app.app_context():
        session = db.session()
        try:
            batch = session.get(Batch, batch_id)
            campaign = session.get(Campaign, batch.campaign_id)
            folder = uploads.folder_of(app.config["UPLOAD_FOLDER"], batch)
            engine.generate(
                session, campaign, folder / uploads.INPUT, folder / uploads.OUTPUT,
                keys=app.config["SECRET_KEYS"],
                base_url=app.config["PURL_BASE_URL"],
                options=engine.Options(channel=channel, mapping=dict(mapping),
                                       qr_dir=folder / "qr" if qr else None, qr_zip=qr,
                                       batch_id=batch_id),
            )
        except Exception as exc:  # noqa: BLE001 - whatever it was, the page must say so
            log.exception("batch %s failed", batch_id)
            session.rollback()
            failed = session.get(Batch, batch_id)
            if failed is not None and failed.status != "failed":
                failed.status, failed.error = "failed", str(exc)[:2000]
                failed.finished_at = utcnow()
                session.commit()
        finally:
            db.session.remove()


def _start(app: Flask, batch_id: int, mapping: Mapping[str, str], channel: str,
          qr: bool) -> threading.Thread:
    """Mint in a daemon thread, so the marketer's request returns at once."""
    thread = threading.Thread(target=_run, args=(app, batch_id, dict(mapping), channel, qr),
                              name=f"batch-{batch_id}", daemon=True)
    thread.start()
    return thread
