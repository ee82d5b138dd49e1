"""A signed-in user's own API keys: the list (with last use), create, revoke."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from purl import apikeys
from purl.campaigns import access
from purl.console import bp
from purl.console.forms import ApiKeyForm
from purl.extensions import db
from purl.models import Campaign

log = logging.getLogger(__name__)


def _form() -> ApiKeyForm:
    form = ApiKeyForm()
    # A key reaches only campaigns its creator sees; the choices say the same.
    form.campaigns.choices = [
        (c.slug, f"{c.name} ({c.slug})") for c in db.session.scalars(
            select(Campaign).where(access.visible(current_user),
                                   Campaign.archived_at.is_(None)).order_by(Campaign.slug))]
    return form


def _page(form: ApiKeyForm, secret: str | None = None, status: int = 200):  # noqa: ANN202
    return render_template("console/apikeys.html", keys=apikeys.keys_of(db.session, current_user),
                           form=form, secret=secret), status


@bp.get("/apikeys")
def api_keys():  # noqa: ANN201
    return _page(_form())


@bp.post("/apikeys")
def create_api_key():  # noqa: ANN201
    form = _form()
    if not form.validate_on_submit():
        return _page(form, status=422)
    campaigns = None
    if form.campaigns.data:
        campaigns = list(db.session.scalars(
            select(Campaign).where(Campaign.slug.in_(form.campaigns.data))))
    try:
        key, secret = apikeys.create_key(db.session, current_user, form.name.data, campaigns,
                                         form.read_only.data)
    except apikeys.ApiKeyError:
        form.name.errors = [*form.name.errors, _("Please check the name and the campaigns.")]
        return _page(form, status=422)
    db.session.commit()
    log.info("api key %s created in the console by %s", key.id, current_user.id)
    # Shown in this answer once, not after a redirect: it must never sit in a cookie (flash)
    # or in a URL. Reloading the page shows the list without it.
    return _page(_form(), secret=secret, status=201)


@bp.post("/apikeys/<int:key_id>/revoke")
def revoke_api_key(key_id: int):  # noqa: ANN201
    key = apikeys.key_of(db.session, current_user, key_id)
    if key is None:
        abort(404)
    apikeys.revoke_key(key)
    db.session.commit()
    flash(_("Key “%(name)s” revoked: it no longer works.", name=key.name), "success")
    return redirect(url_for("console.api_keys"), 303)
