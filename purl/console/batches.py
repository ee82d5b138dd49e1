"""Recipient lists uploaded in the console: upload, mapping, minting, progress, results,
downloads (as stored, or for Excel), deleting."""


from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import (
    Response,
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

from purl import files, jobs
from purl.campaigns import access
from purl.campaigns.records import link_base
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.extensions import db
from purl.links.batch import BatchError, columns, downloads, uploads
from purl.models import Campaign
from purl.web import accepts_upload, leave_to, render_page

log = logging.getLogger(__name__)



TARGET_LABELS = {
    "external_id": _l("Customer number"), "email": _l("Email address"),
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "gender": _l("Salutation / gender"), "title": _l("Title"), "company": _l("Company"),
    "seed": _l("Test recipient (seed)"), "attribute": _l("Keep as extra column"),
    "ignore": _l("Ignore"),
}
QR_FORMATS = {"svg": _l("SVG (vector graphic)"), "png": _l("PNG (image, 300 dpi)")}
CHANNEL_LABELS = {"email": _l("Email"), "print": _l("Print (letter, flyer)"), "sms": _l("SMS"),
                  "whatsapp": _l("WhatsApp"), "push": _l("Push notification")}


def _batch(camp: Campaign, batch_id: int):  # noqa: ANN202
    found = uploads.campaign_batch(db.session, camp, batch_id)
    if found is None:
        abort(404)
    return found


@bp.post("/campaigns/<slug>/batches")
@accepts_upload
def upload_batch(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Please choose a CSV file to upload."), "error")
        return leave_to(url_for("console.campaign", slug=camp.slug) + "#upload")
    found = uploads.store_upload(db.session, camp, upload.stream, upload.filename)
    db.session.commit()
    log.info("campaign %s: list uploaded as batch %s", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _unprintable_base(camp: Campaign) -> str | None:
    """The campaign's link base when printed links under it would be dead, else None."""
    base = link_base(camp, current_app.config["PURL_BASE_URL"])
    return base if uploads.unprintable_link_base(base) else None


def _open_result(found, name: str):  # noqa: ANN001, ANN202
    """A finished batch's stored list, opened for reading, or None when it is gone."""
    stored = uploads.result_file(found, name, current_app.config["UPLOAD_FOLDER"])
    if stored is None:
        return None
    return (open(stored, "rb") if isinstance(stored, Path)  # noqa: SIM115
            else files.open_file(db.session, stored))


def _printed_unopenable(camp: Campaign, found) -> str | None:  # noqa: ANN001
    """For a print batch: where its links start, when nobody could open them from paper. The
    links as the list holds them (the address may have changed since), else the campaign's."""
    if not uploads.batch_is_print(found):
        return None
    opened = _open_result(found, uploads.OUTPUT) if found.status == "done" else None
    if opened is None:
        return _unprintable_base(camp)
    with opened as stream:
        link = downloads.first_link(stream)
    if link is None:
        return _unprintable_base(camp)
    base = link.split("/p/", 1)[0]
    return base if uploads.unprintable_link_base(base) else None


def _rejections(found) -> downloads.Rejections | None:  # noqa: ANN001
    """The first rejected rows of a finished batch, from its stored errors file."""
    if found.status != "done" or not found.rejected:
        return None
    opened = _open_result(found, uploads.ERRORS)
    if opened is None:
        return None
    with opened as stream:
        return downloads.rejections(stream, found.rejected)


def _preview_page(camp: Campaign, found, mapping: dict | None = None,  # noqa: ANN001
                  problems: list[str] | None = None, status: int = 200):  # noqa: ANN202
    purged = uploads.purged(found)
    if purged is not None:  # the retention deleted the upload: nothing left to preview
        return render_template("console/batch.html", campaign=camp, batch=found, preview=None,
                               unreadable=None, purged=purged)
    # The form as last sent, else as last checked (changing the mapping after a check).
    check = uploads.check_of(found)
    sheet = _sheet() or (check or {}).get("sheet")
    try:
        seen = uploads.preview_upload(db.session, found, current_app.config["UPLOAD_FOLDER"],
                                      sheet=sheet)
    except (BatchError, OSError) as exc:
        return render_template("console/batch.html", campaign=camp, batch=found, preview=None,
                               unreadable=exc.translated(_) if isinstance(exc, BatchError)
                               else _(str(exc)), purged=None), 422
    asked = request.form if request.method == "POST" else {
        "channel": (check or {}).get("channel"), "qr": "1" if (check or {}).get("qr") else "",
        "qr_format": (check or {}).get("qr_format")}
    # Another sheet than the checked one has other columns: its own proposed mapping.
    same_sheet = (check or {}).get("sheet", "") == (sheet or "")
    return render_template(
        "console/batch.html", campaign=camp, batch=found, preview=seen,
        mapping=mapping or (same_sheet and (check or {}).get("mapping")) or seen.mapping,
        problems=problems or [], targets=TARGET_LABELS,
        channels=CHANNEL_LABELS, channel=asked.get("channel") or "email",
        qr=asked.get("qr") == "1", qr_formats=QR_FORMATS,
        qr_format=asked.get("qr_format") or "svg", check=check, unreadable=None, purged=None,
        unprintable=_unprintable_base(camp),
    ), status


@bp.get("/campaigns/<slug>/batches/<int:batch_id>")
def batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.VIEW)
    found = _batch(camp, batch_id)
    if found.status == "uploaded":
        # Checking the columns is the first step of minting: a change form, editors only.
        campaign_or_404(slug, access.EDIT)
        return _preview_page(camp, found)
    return render_page("console/batch.html", "console/_batch_progress.html", campaign=camp,
                       batch=found, preview=None, unreadable=None, purged=uploads.purged(found),
                       files_deleted=uploads.files_deleted(found),
                       has_qr=uploads.result_file(found, uploads.QR,
                                                  current_app.config["UPLOAD_FOLDER"]) is not None,
                       rejections=_rejections(found),
                       unprintable=_printed_unopenable(camp, found))


@dataclass
class _Asked:
    """What the mapping form asks for: the same for checking and for minting."""

    mapping: dict[str, str]
    channel: str
    qr: bool
    qr_format: str
    sheet: str | None
    problems: list[str]


def _sheet() -> str | None:
    """The workbook sheet asked for (the preview's choice, then the mapping form's)."""
    return (request.values.get("sheet") or "").strip() or None


def _asked(header: list[str]) -> _Asked:
    mapping = {name: request.form.get(f"map-{i}", "attribute") for i, name in enumerate(header)}
    channel = request.form.get("channel", "email")
    qr_format = request.form.get("qr_format", "svg")
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
    if qr_format not in QR_FORMATS:
        problems.append(_("Please choose SVG or PNG for the QR codes."))
    return _Asked(mapping, channel, request.form.get("qr") == "1", qr_format, _sheet(),
                  problems)


def _header(found, sheet: str | None) -> list[str] | None:  # noqa: ANN001
    try:
        return uploads.preview_upload(db.session, found, current_app.config["UPLOAD_FOLDER"],
                                      rows=0, sheet=sheet).header
    except (BatchError, OSError):
        return None


def _minting_already(camp: Campaign, found):  # noqa: ANN001, ANN202
    flash(_("This list is being minted already."), "info")
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


def _mapping_form(camp: Campaign, found):  # noqa: ANN001, ANN202
    """The mapping form of an uploaded list, read for minting or checking: what it asks for,
    or the page to answer instead (minting already, an unreadable file, a mapping to fix)."""
    if found.status != "uploaded":
        return _minting_already(camp, found)
    header = _header(found, _sheet())
    if header is None:
        return _preview_page(camp, found)
    asked = _asked(header)
    if asked.problems:
        return _preview_page(camp, found, asked.mapping, asked.problems, 422)
    return asked


@bp.post("/campaigns/<slug>/batches/<int:batch_id>")
def mint_batch(slug: str, batch_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    found = _batch(camp, batch_id)
    asked = _mapping_form(camp, found)
    if not isinstance(asked, _Asked):
        return asked  # minting already, unreadable, or a mapping to correct
    queued = uploads.queue_batch(db.session, found, asked.mapping, asked.channel, asked.qr,
                                 asked.qr_format, asked.sheet)
    db.session.commit()
    if not queued:
        return _minting_already(camp, found)
    # A worker mints it (make run starts one); the page shows its progress from the row.
    if current_app.config.get("CONSOLE_BATCH_WAIT"):
        jobs.run_batch_here(found.id)  # tests: the page after the redirect shows it finished
    else:
        jobs.enqueue_batch(found.id)
    log.info("campaign %s: batch %s queued", camp.id, found.id)
    return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))


@bp.post("/campaigns/<slug>/batches/<int:batch_id>/check")
def check_batch(slug: str, batch_id: int):  # noqa: ANN201
    """"Check": the list as a dry run with the mapping of the form, before anything is
    minted; the check page then shows what minting would do."""
    camp = campaign_or_404(slug, access.EDIT)
    found = _batch(camp, batch_id)
    asked = _mapping_form(camp, found)
    if not isinstance(asked, _Asked):
        return asked  # minting already, unreadable, or a mapping to correct
    check_id = uploads.queue_check(db.session, found, asked.mapping, asked.channel, asked.qr,
                                   asked.qr_format, asked.sheet)
    db.session.commit()
    if check_id is None:
        return _minting_already(camp, found)
    if current_app.config.get("CONSOLE_BATCH_WAIT"):
        jobs.run_check_here(found.id, check_id)
    else:
        jobs.enqueue_check(found.id, check_id)
    log.info("campaign %s: batch %s check queued", camp.id, found.id)
    return leave_to(url_for("console.batch_check", slug=camp.slug, batch_id=found.id))


def _check_error(check: dict) -> str | None:
    """Why a check failed, in the marketer's language (a BatchError is kept as its msgid)."""
    if check.get("status") != "failed":
        return None
    text, params = str(check.get("error") or ""), check.get("params") or {}
    try:
        return BatchError(text, **params).translated(_)
    except (KeyError, TypeError, ValueError):  # a translation that does not fit its values
        return text


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/check")
def batch_check(slug: str, batch_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.EDIT)
    found = _batch(camp, batch_id)
    check = uploads.check_of(found)
    if check is None:  # minted meanwhile, or never checked: the list's own page says which
        return leave_to(url_for("console.batch", slug=camp.slug, batch_id=found.id))
    header = _header(found, check.get("sheet")) or []
    return render_page(
        "console/batch_check.html", "console/_batch_check.html", campaign=camp, batch=found,
        check=check, stalled=uploads.check_stalled(check), error=_check_error(check),
        fields=[(i, check["mapping"].get(name, "attribute"))
                for i, name in enumerate(header)],
        rejections=downloads.Rejections(
            rows=[tuple(r) for r in check.get("rejections") or []],
            total=int(check.get("rejected") or 0)) if check.get("rejected") else None,
        warnings=check.get("warnings"), targets=TARGET_LABELS, channels=CHANNEL_LABELS,
        unprintable=_unprintable_base(camp) if uploads.is_print(check.get("channel"),
                                                                check.get("qr")) else None)


def _download(slug: str, batch_id: int, name: str, label: str, mimetype: str):  # noqa: ANN202
    camp = campaign_or_404(slug, access.VIEW)
    found = _batch(camp, batch_id)
    stored = uploads.result_file(found, name, current_app.config["UPLOAD_FOLDER"])
    if found.status != "done" or stored is None:
        abort(404)
    # ?for=excel: ";", UTF-8 with a BOM, the columns named in the campaign's language;
    # without: the list as stored, with the contract's column names.
    excel = name != uploads.QR and request.args.get("for") == "excel"
    suffix = "-excel" if excel else ""
    filename = f"{camp.slug}-{found.id}-{label}{suffix}.{name.rsplit('.', 1)[1]}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if isinstance(stored, Path):  # a list minted before results were stored in the database
        if not excel:
            return send_file(stored, mimetype=mimetype, as_attachment=True,
                             download_name=filename)
        return Response(downloads.for_excel(_file_chunks(stored), camp.locale,
                                            errors=name == uploads.ERRORS),
                        mimetype=mimetype, headers=headers)
    # Streamed a chunk at a time, on connections of its own: a 100 MB list never sits whole
    # in memory, and the request's session is gone by the time the body is sent.
    body = downloads.stream(db.engine, stored, camp.locale if excel else None,
                            errors=name == uploads.ERRORS)
    return Response(body, mimetype=mimetype, headers=headers)


def _file_chunks(path: Path):  # noqa: ANN202
    with open(path, "rb") as stream:
        while block := stream.read(files.CHUNK_SIZE):
            yield block


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/links.csv")
def batch_output(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.OUTPUT, "links", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/errors.csv")
def batch_errors(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.ERRORS, "errors", "text/csv")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/qr.zip")
def batch_qr(slug: str, batch_id: int):  # noqa: ANN201
    return _download(slug, batch_id, uploads.QR, "qr", "application/zip")


@bp.route("/campaigns/<slug>/batches/<int:batch_id>/delete", methods=["GET", "POST"])
def delete_batch(slug: str, batch_id: int):  # noqa: ANN201
    """Delete an upload not minted (or failed) with its files; of a minted list only its
    files can go, its links stay. A POST without ``confirm=1`` changes nothing."""
    camp = campaign_or_404(slug, access.EDIT)
    found = _batch(camp, batch_id)
    back = url_for("console.batch", slug=camp.slug, batch_id=found.id)
    if request.method == "GET":
        return render_template("console/confirm_delete_batch.html", campaign=camp,
                               batch=found, deletable=uploads.deletable(found),
                               has_files=uploads.has_files(found))
    if request.form.get("confirm") != "1":
        return leave_to(back)
    folder = current_app.config["UPLOAD_FOLDER"]
    if uploads.deletable(found):
        name = found.filename
        if uploads.delete_batch(db.session, found, folder):
            db.session.commit()
            log.info("campaign %s: batch %s deleted", camp.id, batch_id)
            flash(_("The upload “%(name)s” was deleted.", name=name), "success")
            return leave_to(url_for("console.campaign", slug=camp.slug))
        db.session.rollback()
    elif found.status == "done":
        count = uploads.delete_files(db.session, found, folder)
        db.session.commit()
        log.info("campaign %s: files of batch %s deleted", camp.id, batch_id)
        if count:
            flash(_("The files of this list were deleted; its links stay valid."), "success")
        return leave_to(back)
    flash(_("This list is being minted: it can be deleted once it has finished."), "info")
    return leave_to(back)
