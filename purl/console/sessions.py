"""Console sessions: fresh at sign-in, idle and absolute expiry, ended server-side at sign-out.

Flask's session is a signed cookie. What makes a copied cookie useless after sign-out is the
user's ``session_nonce`` in the database: each session carries it, the user loader compares,
and signing out replaces it (ending every session of that user, on every worker).
"""

from __future__ import annotations

import hmac
import logging
import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from purl.accounts import new_session_nonce
from purl.extensions import db, login_manager
from purl.models import User
from purl.web import leave_to, wants_fragment

log = logging.getLogger(__name__)

# Console endpoints that send a file: without a session they answer 401, not a redirect
# (a spreadsheet tool or a script following the link should not get a sign-in page).
DOWNLOADS = {"console.export_events", "console.batch_output", "console.batch_errors",
             "console.batch_qr", "console.export_recipient"}


def sign_in(user: User) -> None:
    """Start a new session for ``user`` (the caller commits)."""
    # Nothing from before sign-in survives: whatever an attacker planted is gone.
    session.clear()
    if not user.session_nonce:
        new_session_nonce(user)
    login_user(user)
    session.permanent = True  # the cookie expires with the absolute lifetime
    now = int(time.time())
    session["console_nonce"] = user.session_nonce
    session["signed_in_at"] = now
    session["seen_at"] = now


def sign_out(user: User) -> None:
    """End this and every other session of ``user`` (the caller commits)."""
    new_session_nonce(user)
    logout_user()
    session.clear()


def _expired(now: int) -> bool:
    absolute = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    idle = current_app.config["CONSOLE_IDLE_TIMEOUT"].total_seconds()
    return (now - session.get("signed_in_at", 0) > absolute
            or now - session.get("seen_at", 0) > idle)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    nonce = session.get("console_nonce", "")
    if (user is None or not user.active or not user.session_nonce
            or not hmac.compare_digest(str(nonce), user.session_nonce)):
        return _forget()
    now = int(time.time())
    if _expired(now):
        return _forget(expired=True)
    if now - session.get("seen_at", 0) >= 60:
        session["seen_at"] = now  # once a minute is precise enough and spares cookie writes
    return user


def _forget(expired: bool = False) -> None:
    if session.get("_user_id"):
        session.clear()
        if expired:
            flash(_("Your session has ended. Please sign in again."), "info")
    return None


def safe_next(target: str | None) -> str | None:
    """Only a console path on this site may be a redirect target after sign-in."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return None


@login_manager.unauthorized_handler
def unauthorized():  # noqa: ANN201
    if request.endpoint in DOWNLOADS:
        return _("Please sign in to the console first."), 401, {
            "Content-Type": "text/plain; charset=utf-8"}
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    url = url_for("console.login", next=safe_next(target))
    if wants_fragment():
        # An htmx request would swap the sign-in page into a fragment: navigate instead.
        return leave_to(url)
    return redirect(url, 302)
