"""Site-wide pages: the front door, the health check and friendly error pages."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from .extensions import db
from .quiz.definition import list_quizzes

log = logging.getLogger(__name__)
bp = Blueprint("core", __name__)


@bp.get("/")
def home():  # noqa: ANN201
    quizzes = [q for q in list_quizzes(current_app.config["QUIZ_FOLDER"]) if q.public]
    return render_template("core/home.html", quizzes=quizzes)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready", whatever the driver raised
        log.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


def _error_page(status: int, title: str, message: str):  # noqa: ANN202
    return render_template("errors/error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError):  # noqa: ANN201
    db.session.rollback()
    return _error_page(
        400,
        _("This form has expired"),
        _("Please go back, reload the page and send the form again. Nothing was changed."),
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):  # noqa: ANN201
    db.session.rollback()
    if error.code == 404:
        return _error_page(
            404,
            _("We could not find this page"),
            _("Please check the address. If you typed it from a letter, "
              "compare it character by character."),
        )
    if error.code == 410:
        return _error_page(
            410,
            _("This link is no longer valid"),
            _("This personal link has expired or was withdrawn. "
              "You are welcome to visit the shop directly."),
        )
    if error.code == 413:
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        return _error_page(
            413,
            _("This file is too large"),
            _("The console accepts files up to %(mb)d MB. Please split the list into smaller "
              "files and upload them one after the other; nobody gets a second link.", mb=limit),
        )
    if error.code == 429:
        return _error_page(429, _("Too many attempts"), _("Please wait a minute and try again."))
    return _error_page(error.code or 500, error.name, error.description or "")


@bp.app_errorhandler(Exception)
def server_error(error: Exception):  # noqa: ANN201
    db.session.rollback()
    log.exception("unhandled error")
    return _error_page(
        500,
        _("Something went wrong on our side"),
        _("Nothing you entered was lost. Please try again in a moment."),
    )
