"""The OpenAPI 3.1 document (from the schemas spectree validates with) and its reference
page, drawn by ReDoc from ``static/vendor`` (no CDN)."""

from __future__ import annotations

import copy
from typing import Any

from flask import Response, current_app, jsonify, render_template

from purl.api import bp, spec
from purl.api.problems import MIMETYPE
from purl.campaigns.records import SLUG

# ReDoc styles itself inline and searches in a worker it starts from a blob: this page alone
# allows that; its script is still only ours.
REFERENCE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)


# What the path's parts look like (spectree knows them only as strings): a client, and
# schemathesis, read here that a slug is lowercase and how a recipient is named.
PATH_PARAMETERS = {
    "slug": {"type": "string", "pattern": SLUG},
    "ref": {"type": "string",
            "pattern": r"^([0-9]{1,18}|(external_id|email):[^\x00-\x1f\x7f/]{1,254})$"},
    # The ranges of <int:…> and <bigint:…> (purl.web): a larger number is no id of ours.
    "endpoint_id": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**31 - 1},
    "delivery_id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1},
}


# The creating writes (purl.api.idempotency wraps each) take an Idempotency-Key.
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Any unique string, such as a UUID: sent again with the same request "
                   "within 24 hours, the call answers what it answered the first time "
                   "(header `Idempotent-Replayed: true`) and changes nothing; with another "
                   "request, 422.",
}


# A list sent as it is (spectree documents JSON and form bodies only).
_FILE = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY = {"required": True, "description": "The list: CSV, or a workbook", "content": {
    "text/csv": _FILE, "application/octet-stream": _FILE,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _FILE,
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}}}}}}


def document() -> dict[str, Any]:
    """The API's OpenAPI document: spectree's, with error answers typed as problem details,
    the path parameters' shapes and the Idempotency-Key of the creating writes."""
    doc = copy.deepcopy(spec.spec)
    for operations in doc["paths"].values():
        for method, operation in operations.items():
            if operation.get("operationId") == "uploadBatch":
                operation["requestBody"] = UPLOAD_BODY
            if method == "post" and operation.get("operationId", "").startswith("create"):
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in PATH_PARAMETERS:
                    parameter["schema"] = dict(PATH_PARAMETERS[parameter["name"]])
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if status.startswith(("4", "5")) and "application/json" in content:
                    content[MIMETYPE] = content.pop("application/json")
    return doc


@bp.get("/openapi.json")
def openapi():  # noqa: ANN201
    response = jsonify(document())
    response.cache_control.no_cache = True
    return response


@bp.get("/reference")
def reference() -> Response:
    response = current_app.make_response(render_template("api/reference.html"))
    response.headers["Content-Security-Policy"] = REFERENCE_CSP
    return response
