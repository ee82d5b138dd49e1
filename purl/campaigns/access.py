"""Who may see, change and share a campaign: the rule, in one place.

A campaign has an owner (``Campaign.owner_id``) and members it is shared with: users or teams,
each a ``viewer`` (reads everything: pages, funnel, downloads) or an ``editor`` (changes the
campaign, its lists and its links too). The owner also manages the sharing. Admins are owners
of every campaign; a campaign without an owner is the admins' alone. A user's role is the
highest of the ways in: owner, their own membership, any of their teams' memberships.

Plain functions over the session that only flush; the console (and later the API) call these.
"""

from __future__ import annotations

import logging
from typing import Literal

from sqlalchemy import ColumnElement, delete, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from purl.models import Campaign, CampaignMember, Team, TeamMember, User

log = logging.getLogger(__name__)

Role = Literal["owner", "editor", "viewer"]
Right = Literal["view", "edit", "manage"]
VIEW: Right = "view"
EDIT: Right = "edit"
MANAGE: Right = "manage"
MEMBER_ROLES = ("viewer", "editor")
# What each role may do; a role includes the rights of the roles below it.
_RANK = {"viewer": 1, "editor": 2, "owner": 3}
_NEEDS = {VIEW: 1, EDIT: 2, MANAGE: 3}


class AccessError(ValueError):
    """A sharing or team change that cannot be made; ``str()`` is a stable code word."""


def allows(role: str | None, right: Right) -> bool:
    """Whether ``role`` (from ``role_for``) grants ``right``."""
    return role is not None and _RANK[role] >= _NEEDS[right]


def _active(user: User | None) -> bool:
    # The console hands in Flask-Login's anonymous user when nobody is signed in.
    return user is not None and getattr(user, "is_authenticated", False) and user.active


def _team_ids(user_id: int):  # noqa: ANN202 - a select
    return select(TeamMember.team_id).where(TeamMember.user_id == user_id)


def _member_rows(user_id: int) -> ColumnElement[bool]:
    """Memberships that reach ``user_id``: their own, or one of their teams'."""
    return or_(CampaignMember.user_id == user_id,
               CampaignMember.team_id.in_(_team_ids(user_id)))


def role_for(session: Session, campaign: Campaign, user: User | None) -> Role | None:
    """The user's role in ``campaign``: "owner", "editor", "viewer", or None (no access)."""
    if not _active(user):
        return None
    if user.is_admin or campaign.owner_id == user.id:
        return "owner"
    roles = session.scalars(select(CampaignMember.role).where(
        CampaignMember.campaign_id == campaign.id, _member_rows(user.id))).all()
    return max(roles, key=_RANK.__getitem__, default=None)  # type: ignore[return-value]


def visible(user: User | None) -> ColumnElement[bool]:
    """A where clause for ``select(Campaign)``: the campaigns ``user`` may see (one query for
    a whole list, whatever its length)."""
    if not _active(user):
        return false()
    if user.is_admin:
        return true()
    shared = select(CampaignMember.campaign_id).where(_member_rows(user.id))
    return or_(Campaign.owner_id == user.id, Campaign.id.in_(shared))


def campaigns_using_quiz(session: Session, quiz_slug: str) -> list[Campaign]:
    """The campaigns whose shoppers get ``quiz_slug`` (archived ones too: their links live)."""
    return list(session.scalars(select(Campaign).where(Campaign.quiz_slug == quiz_slug)
                                .order_by(Campaign.slug)))


def may_publish_quiz(session: Session, quiz_slug: str, user: User | None) -> bool:
    """Whether ``user`` may change what a quiz's shoppers get (publish, roll back). A quiz
    is shared by the campaigns that draw on it, so a change reaches all of them: it needs
    the right to edit each one. Drafts change nothing for shoppers: anyone signed in may
    write one."""
    if not _active(user):
        return False
    return all(allows(role_for(session, campaign, user), EDIT)
               for campaign in campaigns_using_quiz(session, quiz_slug))


def user_by_email(session: Session, email: str) -> User | None:
    """The user to share with, by an address ``purl.accounts.normalise_email`` normalised."""
    return session.scalar(select(User).where(User.email == email))


# --- sharing --------------------------------------------------------------------------------


def members(session: Session, campaign: Campaign) -> list[CampaignMember]:
    """Whom the campaign is shared with: users first (by email), then teams (by name)."""
    rows = session.scalars(
        select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)
        .options(selectinload(CampaignMember.user), selectinload(CampaignMember.team))
    ).all()
    return sorted(rows, key=lambda m: (m.user is None, m.user.email if m.user else m.team.name))


def campaign_member(session: Session, campaign: Campaign, member_id: int) -> CampaignMember | None:
    """A membership of this campaign only: an id from another campaign finds nothing."""
    return session.scalar(select(CampaignMember).where(
        CampaignMember.id == member_id, CampaignMember.campaign_id == campaign.id))


def share(session: Session, campaign: Campaign, role: str, *, user: User | None = None,
          team: Team | None = None) -> CampaignMember:
    """Share ``campaign`` with a user or a team as ``role``; sharing again changes the role."""
    if role not in MEMBER_ROLES:
        raise AccessError("unknown role")
    if (user is None) == (team is None):
        raise AccessError("a user or a team")
    if user is not None and campaign.owner_id == user.id:
        raise AccessError("owner")
    column = CampaignMember.user_id if user is not None else CampaignMember.team_id
    target = user.id if user is not None else team.id  # type: ignore[union-attr]
    member = session.scalar(select(CampaignMember).where(
        CampaignMember.campaign_id == campaign.id, column == target))
    if member is None:
        member = CampaignMember(campaign_id=campaign.id, role=role,
                                user_id=user.id if user else None,
                                team_id=team.id if team else None)
        session.add(member)
    member.role = role
    session.flush()
    log.info("campaign %s shared with %s %s as %s", campaign.id,
             "user" if user else "team", target, role)
    return member


def change_role(session: Session, member: CampaignMember, role: str) -> None:
    if role not in MEMBER_ROLES:
        raise AccessError("unknown role")
    member.role = role
    session.flush()


def unshare(session: Session, member: CampaignMember) -> None:
    """End a membership (the user or team no longer sees the campaign through it)."""
    log.info("campaign %s no longer shared (member %s)", member.campaign_id, member.id)
    session.delete(member)
    session.flush()


def set_owner(campaign: Campaign, user: User | None) -> None:
    campaign.owner_id = user.id if user is not None else None


# --- teams ----------------------------------------------------------------------------------


def teams(session: Session) -> list[Team]:
    """Every team with its users, by name (two queries however many teams)."""
    return list(session.scalars(select(Team).order_by(Team.name)
                                .options(selectinload(Team.users))))


def create_team(session: Session, name: str) -> Team:
    name = " ".join(name.split())
    if not name:
        raise AccessError("name")
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise AccessError("team exists")
    team = Team(name=name)
    session.add(team)
    session.flush()
    log.info("team %s created", team.id)
    return team


def delete_team(session: Session, team: Team) -> None:
    """Delete a team: its members lose what it gave them; they keep their own shares."""
    session.execute(delete(CampaignMember).where(CampaignMember.team_id == team.id))
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    session.delete(team)
    session.flush()
    log.info("team %s deleted", team.id)


def add_to_team(session: Session, team: Team, user: User) -> None:
    exists = session.scalar(select(TeamMember.user_id).where(
        TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    if exists is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        session.flush()
        session.expire(team, ["users"])


def remove_from_team(session: Session, team: Team, user_id: int) -> None:
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id,
                                             TeamMember.user_id == user_id))
    session.flush()
    session.expire(team, ["users"])
