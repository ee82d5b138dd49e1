"""Admin pages: the console's users (list, create, change role, deactivate) and settings."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from purl.accounts import create_user, set_active, set_role
from purl.campaigns import defaults as console_settings
from purl.console import bp
from purl.console.campaigns import quiz_choices
from purl.console.forms import ROLE_CHOICES, RoleForm, SettingsForm, UserForm
from purl.extensions import db
from purl.models import User

log = logging.getLogger(__name__)
ROLE_LABELS = {choice.value: choice.label for choice in ROLE_CHOICES}

# Messages of the user logic, in the marketer's language.
_PROBLEMS = {
    "the last admin cannot give up the admin role":
        lambda: _("The last admin cannot give up the admin role."),
    "the last admin cannot be deactivated": lambda: _("The last admin cannot be deactivated."),
}


def admin_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    wrapped.admin_only = True
    return wrapped


def _user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.get("/users")
@admin_required
def users():  # noqa: ANN201
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("console/users.html", users=rows, form=UserForm(),
                           roles=ROLE_CHOICES)


@bp.post("/users")
@admin_required
def add_user():  # noqa: ANN201
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(db.session, form.email.data, form.password.data, form.role.data)
        except ValueError:
            form.email.errors = [*form.email.errors, _("A user with this email exists already.")]
        else:
            db.session.commit()
            log.info("user %s created by %s", user.id, current_user.id)
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("console.users"), 303)
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("console/users.html", users=rows, form=form,
                           roles=ROLE_CHOICES), 422


@bp.post("/users/<int:user_id>/role")
@admin_required
def change_role(user_id: int):  # noqa: ANN201
    user, form = _user(user_id), RoleForm()
    if form.validate_on_submit():
        try:
            set_role(db.session, user, form.role.data)
        except ValueError as exc:
            flash(_PROBLEMS[str(exc)](), "error")
        else:
            db.session.commit()
            flash(_("%(email)s is now: %(role)s.", email=user.email,
                    role=ROLE_LABELS[user.role]), "success")
    return redirect(url_for("console.users"), 303)


@bp.post("/users/<int:user_id>/active")
@admin_required
def change_active(user_id: int):  # noqa: ANN201
    user = _user(user_id)  # CSRFProtect has checked the form's token already
    active = request.form.get("active") == "1"
    try:
        set_active(db.session, user, active)
    except ValueError as exc:
        flash(_PROBLEMS[str(exc)](), "error")
    else:
        db.session.commit()
        flash(_("%(email)s can sign in again.", email=user.email) if active
              else _("%(email)s is deactivated and signed out.", email=user.email), "success")
    return redirect(url_for("console.users"), 303)


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():  # noqa: ANN201
    form = SettingsForm(data=console_settings.campaign_defaults(db.session)
                        if request.method == "GET" else None)
    form.quiz_slug.choices = quiz_choices()
    if form.validate_on_submit():
        console_settings.save_campaign_defaults(db.session, form.data)
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("console.settings"), 303)
    return render_template("console/settings.html", form=form), 422 if form.errors else 200
