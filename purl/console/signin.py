"""Signing in and out of the console, and the one gate in front of every other page."""


from __future__ import annotations

import hashlib
import logging

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
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


def _login_key() -> str:
    # Counts failed attempts per account, whichever address they come from; hashed so the
    # rate-limit store (Redis) holds no email addresses.
    email = normalise_email(request.form.get("email", ""))
    return "login:" + hashlib.sha256(email.encode()).hexdigest()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], key_func=_login_key,
               deduct_when=lambda response: response.status_code == 401)
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


