"""The marketer console: sign-in and the campaign overview."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlalchemy import func, select

from ..analytics import funnel_counts
from ..extensions import db, limiter, login_manager
from ..links.logic import link_url
from ..models import Campaign, Recipient, User
from .auth import authenticate
from .forms import LoginForm

log = logging.getLogger(__name__)
bp = Blueprint("console", __name__, url_prefix="/console")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():  # noqa: ANN201
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            login_user(user)
            return redirect(url_for("console.campaigns"), 303)
        # One answer for an unknown user and a wrong password.
        flash(_("Email or password is not correct."), "error")
        return render_template("console/login.html", form=form), 401
    return render_template("console/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("console.login"), 303)


@bp.get("/")
@login_required
def campaigns():  # noqa: ANN201
    rows = db.session.execute(
        select(Campaign, func.count(Recipient.id))
        .outerjoin(Recipient, Recipient.campaign_id == Campaign.id)
        .group_by(Campaign.id)
        .order_by(Campaign.created_at.desc())
    ).all()
    overview = [
        {"campaign": campaign, "links": links, "funnel": funnel_counts(db.session, campaign.id)}
        for campaign, links in rows
    ]
    return render_template("console/campaigns.html", overview=overview)


@bp.get("/campaigns/<slug>")
@login_required
def campaign(slug: str):  # noqa: ANN201
    camp = db.first_or_404(select(Campaign).where(Campaign.slug == slug))
    recipients = db.session.scalars(
        select(Recipient).where(Recipient.campaign_id == camp.id).order_by(Recipient.id).limit(50)
    ).all()
    keys = current_app.config["SECRET_KEYS"]
    base = current_app.config["PURL_BASE_URL"]
    links = [(r, link_url(r, camp, keys, base)) for r in recipients]
    return render_template(
        "console/campaign.html", campaign=camp, links=links,
        funnel=funnel_counts(db.session, camp.id), query=request.args.get("q", ""),
    )
