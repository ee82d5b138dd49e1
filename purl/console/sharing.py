"""Who sees a campaign: its sharing page (owner and admins), and the teams (admins)."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from purl.accounts import normalise_email
from purl.campaigns import access
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.console.forms import MemberRoleForm, ShareForm, TeamForm, TeamMemberForm
from purl.console.users import admin_required
from purl.extensions import db
from purl.models import Campaign, Team

log = logging.getLogger(__name__)

# The sharing logic's refusals, in the marketer's language.
_PROBLEMS = {
    "owner": lambda: _("The owner sees this campaign anyway."),
    "team exists": lambda: _("A team with this name exists already."),
    "name": lambda: _("Please give the team a name."),
}


def _problem(exc: access.AccessError) -> str:
    return _PROBLEMS.get(str(exc), lambda: _("This change cannot be made."))()


def _sharing_page(camp: Campaign, form: ShareForm, status: int = 200):  # noqa: ANN202
    return render_template(
        "console/sharing.html", campaign=camp, form=form, role_form=MemberRoleForm(),
        members=access.members(db.session, camp),
        owner=camp.owner, has_teams=len(form.team.choices) > 1,
    ), status


def _share_form() -> ShareForm:
    form = ShareForm()
    form.team.choices = [SelectChoice("", "–")] + [
        SelectChoice(str(team.id), team.name) for team in access.teams(db.session)]
    return form


@bp.get("/campaigns/<slug>/sharing")
def sharing(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.MANAGE)
    return _sharing_page(camp, _share_form())


@bp.post("/campaigns/<slug>/sharing")
def share_campaign(slug: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.MANAGE)
    form = _share_form()
    if not form.validate_on_submit():
        return _sharing_page(camp, form, 422)
    user = team = None
    if form.email.data:
        user = access.user_by_email(db.session, normalise_email(form.email.data))
        if user is None:
            form.email.errors = [*form.email.errors, _("There is no user with this email.")]
            return _sharing_page(camp, form, 422)
    else:
        team = db.session.get(Team, int(form.team.data))  # a choice: a team that exists
    try:
        access.share(db.session, camp, form.role.data, user=user, team=team)
    except access.AccessError as exc:
        form.email.errors = [*form.email.errors, _problem(exc)]
        return _sharing_page(camp, form, 422)
    db.session.commit()
    log.info("campaign %s shared by user %s", camp.id, current_user.id)
    flash(_("“%(name)s” is shared with %(who)s.", name=camp.name,
            who=user.email if user else team.name), "success")
    return redirect(url_for("console.sharing", slug=camp.slug), 303)


def _member(camp: Campaign, member_id: int):  # noqa: ANN202
    found = access.campaign_member(db.session, camp, member_id)
    if found is None:
        abort(404)
    return found


@bp.post("/campaigns/<slug>/sharing/<int:member_id>")
def change_member(slug: str, member_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.MANAGE)
    member = _member(camp, member_id)
    form = MemberRoleForm()
    if form.validate_on_submit():
        access.change_role(db.session, member, form.role.data)
        db.session.commit()
        flash(_("The right is changed."), "success")
    else:
        flash(_("Please choose a right from the list."), "error")
    return redirect(url_for("console.sharing", slug=camp.slug), 303)


@bp.post("/campaigns/<slug>/sharing/<int:member_id>/remove")
def unshare_member(slug: str, member_id: int):  # noqa: ANN201
    camp = campaign_or_404(slug, access.MANAGE)
    access.unshare(db.session, _member(camp, member_id))  # CSRFProtect checked the form
    db.session.commit()
    flash(_("The campaign is no longer shared with them."), "success")
    return redirect(url_for("console.sharing", slug=camp.slug), 303)


# --- teams (admins) ---------------------------------------------------------------------


def _teams_page(form: TeamForm | None = None, status: int = 200):  # noqa: ANN202
    rows = access.teams(db.session)
    return render_template(
        "console/teams.html", teams=rows, form=form or TeamForm(),
        member_forms={team.id: TeamMemberForm(prefix=f"team-{team.id}") for team in rows},
    ), status


def _team(team_id: int) -> Team:
    return db.get_or_404(Team, team_id)


@bp.get("/teams")
@admin_required
def teams():  # noqa: ANN201
    return _teams_page()


@bp.post("/teams")
@admin_required
def add_team():  # noqa: ANN201
    form = TeamForm()
    if not form.validate_on_submit():
        return _teams_page(form, 422)
    try:
        team = access.create_team(db.session, form.name.data)
    except access.AccessError as exc:
        form.name.errors = [*form.name.errors, _problem(exc)]
        return _teams_page(form, 422)
    db.session.commit()
    log.info("team %s created by user %s", team.id, current_user.id)
    flash(_("Team “%(name)s” created.", name=team.name), "success")
    return redirect(url_for("console.teams"), 303)


@bp.post("/teams/<int:team_id>/members")
@admin_required
def add_team_member(team_id: int):  # noqa: ANN201
    team = _team(team_id)
    form = TeamMemberForm(prefix=f"team-{team.id}")
    user = (access.user_by_email(db.session, normalise_email(form.email.data))
            if form.validate_on_submit() else None)
    if user is None:
        flash(_("There is no user with this email."), "error")
    else:
        access.add_to_team(db.session, team, user)
        db.session.commit()
        flash(_("%(email)s is now in team “%(name)s”.", email=user.email, name=team.name),
              "success")
    return redirect(url_for("console.teams"), 303)


@bp.post("/teams/<int:team_id>/members/<int:user_id>/remove")
@admin_required
def remove_team_member(team_id: int, user_id: int):  # noqa: ANN201
    team = _team(team_id)
    access.remove_from_team(db.session, team, user_id)
    db.session.commit()
    flash(_("Removed from team “%(name)s”.", name=team.name), "success")
    return redirect(url_for("console.teams"), 303)


@bp.post("/teams/<int:team_id>/delete")
@admin_required
def delete_team(team_id: int):  # noqa: ANN201
    team = _team(team_id)
    name = team.name
    access.delete_team(db.session, team)
    db.session.commit()
    flash(_("Team “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("console.teams"), 303)
