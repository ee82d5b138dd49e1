"""Signing in and out of the console, and the one gate in front of every other page."""


from __future__ import annotations

import hashlib
import logging

from flask import (
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user

from purl.accounts import authenticate, normalise_email
from purl.console import bp
from purl.console.forms import LoginForm
from purl.console.sessions import safe_next, sign_in, sign_out
from purl.extensions import db, limiter, login_manager

log = logging.getLogger(__name__)
PUBLIC_ENDPOINTS = {"console.login"}


@bp.before_request
def require_sign_in():  # noqa: ANN201
    # One gate for the whole console, so a new route cannot forget it.
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


# Failed sign-ins of one account from one address, in stacked windows: the wait grows from
# a quarter of an hour to the rest of the day. Keyed by account AND address, so a stranger
# guessing elsewhere never locks the owner out.
ACCOUNT_FAILURES = "10 per 15 minutes; 20 per 2 hours; 40 per day"
# Failed sign-ins from one address across all accounts (credential stuffing); an office
# behind one address still has room for its people's typos.
ADDRESS_FAILURES = "20 per minute; 50 per hour; 200 per day"


def _failed(response: Response) -> bool:
    # Only a refused password counts; a successful sign-in or a form error costs nothing.
    return response.status_code == 401


def _account_key() -> str:
    # Hashed, so the rate-limit store (Redis, SQLite) holds no email addresses.
    email = normalise_email(request.form.get("email", ""))
    return f"login:{hashlib.sha256(email.encode()).hexdigest()}:{get_remote_address()}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(ADDRESS_FAILURES, methods=["POST"], deduct_when=_failed)
@limiter.limit(ACCOUNT_FAILURES, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("console.campaigns"), 303)
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            sign_in(user)
            db.session.commit()
            log.info("user %s signed in", user.id)
            target = safe_next(request.args.get("next")) or url_for("console.campaigns")
            return redirect(target, 303)
        # One answer for an unknown user and a wrong password.
        flash(_("Email or password is not correct."), "error")
        return render_template("console/login.html", form=form), 401
    return render_template("console/login.html", form=form)


@bp.post("/logout")
def logout():  # noqa: ANN201
    sign_out(current_user._get_current_object())
    db.session.commit()
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"), 303)


