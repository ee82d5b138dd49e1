"""``/api/v1/campaigns/{slug}/batches``: a recipient list (CSV or workbook) sent as the body
becomes the batch job the console runs; poll it for progress and counts, then download its
links and rejected rows. The file is read, mapped and checked as the console does."""

from __future__ import annotations

import logging

from flask import Response as FlaskResponse
from flask import current_app, request
from spectree import Response

from purl import jobs
from purl.api import bp, spec
from purl.api import schemas as s
from purl.api.campaigns import campaign_for
from purl.api.problems import ApiProblem, field_error
from purl.campaigns import access
from purl.extensions import db
from purl.links.batch import BatchError, check_mapping, downloads, uploads
from purl.links.batch.columns import TARGETS
from purl.models import Batch, Campaign, as_utc
from purl.web import accepts_upload

log = logging.getLogger(__name__)
TAGS = ("batches",)
_ERRORS = {"HTTP_401": s.Problem, "HTTP_404": s.Problem, "HTTP_429": s.Problem}
_MAPPING_PROBLEMS = {
    "unknown": "{column}: not a field of purl (one of: {fields})",
    "twice": "columns {column} and {other} both hold the same field",
    "identity": "no column holds a customer number, an email address or a name: map one "
                "with map=COLUMN=external_id (or email, first_name, last_name)",
}


def batch_out(camp: Campaign, found: Batch) -> s.Batch:
    base = f"/api/v1/campaigns/{camp.slug}/batches/{found.id}"
    done = found.status == "done"
    return s.Batch(
        id=found.id, campaign=camp.slug, filename=found.filename, status=found.status,
        channel=found.channel, total_rows=found.total_rows, processed_rows=found.processed_rows,
        minted=found.minted, reused=found.reused, updated=found.updated,
        rejected=found.rejected, error=found.error, created_at=as_utc(found.created_at),
        finished_at=as_utc(found.finished_at),
        links_csv=f"{base}/links.csv" if done and found.output_file_id else None,
        errors_csv=f"{base}/errors.csv" if done and found.errors_file_id else None)


def _mapping(header: list[str], proposed: dict[str, str], ignored: list[str],
             asked: list[str]) -> dict[str, str]:
    """Column -> field: what the file's header says (as the console proposes it), then the
    call's ``map=COLUMN=field``; 422 naming the problem."""
    mapping = {name: proposed.get(name, "ignore" if name in ignored else "attribute")
               for name in header}
    for pair in asked:
        column, _, target = pair.rpartition("=")
        if column not in mapping:
            raise ApiProblem(422, errors=[field_error(
                "query.map", f"{pair}: the file has no column {column!r} (its columns: "
                             f"{', '.join(header)})")])
        mapping[column] = target.strip()
    problems = [field_error("query.map", _MAPPING_PROBLEMS[kind].format(
        column=column, other=other, fields=", ".join(TARGETS)))
        for kind, column, other in check_mapping(mapping)]
    if problems:
        raise ApiProblem(422, errors=problems)
    return mapping


@bp.post("/campaigns/<slug>/batches")
@accepts_upload
@spec.validate(query=s.BatchUpload,
               resp=Response(HTTP_202=s.Batch, HTTP_403=s.Problem, HTTP_413=s.Problem,
                             **_ERRORS),
               tags=TAGS, operation_id="uploadBatch")
def upload_batch(slug: str, query: s.BatchUpload):  # noqa: ANN201
    """Send a list as the request body (CSV in any common encoding and delimiter, or .xlsx,
    .xls, .ods: name it in `filename`), or as the part `file` of a multipart form: it is
    kept, its header mapped as the console proposes (`map=COLUMN=field` to correct), and
    queued for a job worker. 202 with the batch to poll; a person who has a link keeps it,
    so sending a list again mints nothing twice."""
    camp = campaign_for(slug, access.EDIT)
    stream, filename = request.stream, query.filename
    if request.mimetype == "multipart/form-data":  # curl -F file=@kunden.csv, as forms send
        upload = request.files.get("file")
        if upload is None:
            raise ApiProblem(422, errors=[field_error(
                "body", "a multipart body needs the list in a part named file")])
        stream, filename = upload.stream, upload.filename or filename
    found = uploads.store_upload(db.session, camp, stream, filename)
    try:
        seen = uploads.preview_upload(db.session, found, current_app.config["UPLOAD_FOLDER"],
                                      rows=0, sheet=query.sheet)
    except BatchError as exc:
        db.session.rollback()  # nothing kept of a file that is no list
        raise ApiProblem(422, errors=[field_error("body", str(exc))]) from None
    mapping = _mapping(seen.header, seen.mapping, seen.ignored, query.map)
    uploads.queue_batch(db.session, found, mapping, query.channel, query.qr, query.qr_format,
                        query.sheet)
    db.session.commit()
    jobs.enqueue_batch(found.id)
    log.info("campaign %s: list uploaded through the api as batch %s", camp.id, found.id)
    location = f"/api/v1/campaigns/{camp.slug}/batches/{found.id}"
    return batch_out(camp, found), 202, {"Location": location}


def _batch(camp: Campaign, batch_id: int) -> Batch:
    found = uploads.campaign_batch(db.session, camp, batch_id)
    if found is None or found.options is None and found.status == "uploaded":
        raise ApiProblem(404)
    return found


@bp.get("/campaigns/<slug>/batches/<int:batch_id>")
@spec.validate(resp=Response(HTTP_200=s.Batch, **_ERRORS), tags=TAGS, operation_id="getBatch")
def get_batch(slug: str, batch_id: int):  # noqa: ANN201
    """A batch's status (`queued`, `running`, `done`, `failed`), progress and counts; once
    done, where its links and rejected rows are."""
    camp = campaign_for(slug, access.VIEW)
    return batch_out(camp, _batch(camp, batch_id))


def _download(slug: str, batch_id: int, name: str, label: str) -> FlaskResponse:
    camp = campaign_for(slug, access.VIEW)
    found = _batch(camp, batch_id)
    stored = uploads.result_file(found, name, current_app.config["UPLOAD_FOLDER"])
    if found.status != "done" or not isinstance(stored, int):
        raise ApiProblem(409, "The batch has no such file (yet): wait until its status is "
                              "`done`.")
    return FlaskResponse(
        downloads.stream(db.engine, stored, None, errors=name == uploads.ERRORS),
        mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{camp.slug}-{found.id}-{label}.csv"'})


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/links.csv")
@spec.validate(resp=Response(HTTP_200=None, HTTP_409=s.Problem, **_ERRORS), tags=TAGS,
               operation_id="getBatchLinks")
def get_batch_links(slug: str, batch_id: int):  # noqa: ANN201
    """The list with a link per row (`purl_url`, `purl_code`, `salutation_line`), streamed."""
    return _download(slug, batch_id, uploads.OUTPUT, "links")


@bp.get("/campaigns/<slug>/batches/<int:batch_id>/errors.csv")
@spec.validate(resp=Response(HTTP_200=None, HTTP_409=s.Problem, **_ERRORS), tags=TAGS,
               operation_id="getBatchErrors")
def get_batch_errors(slug: str, batch_id: int):  # noqa: ANN201
    """The rows no link was made for, each with its row number and reason."""
    return _download(slug, batch_id, uploads.ERRORS, "errors")
