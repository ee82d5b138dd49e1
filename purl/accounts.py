"""Marketer accounts: Argon2id password hashes, creation and sign-in checks."""

from __future__ import annotations

import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.models import User

log = logging.getLogger(__name__)
ROLES = ("admin", "marketer")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not a real password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, email: str, password: str, role: str = "marketer") -> User:
    """Create a marketer (or admin); the caller commits."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    email = normalise_email(email)
    if "@" not in email:
        raise ValueError("an email address needs an @")
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    if session.scalar(select(User).where(func.lower(User.email) == email)):
        raise ValueError(f"a user {email} exists already")
    user = User(email=email, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user these credentials belong to, or None (same cost either way)."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def new_session_nonce(user: User) -> str:
    """Give the user a fresh session nonce: every session signed in before it ends."""
    user.session_nonce = secrets.token_urlsafe(18)
    return user.session_nonce


def admins_left(session: Session, without: User) -> int:
    return session.scalar(
        select(func.count()).select_from(User).where(
            User.role == "admin", User.active.is_(True), User.id != without.id)
    ) or 0


def set_role(session: Session, user: User, role: str) -> None:
    """Change a user's role; the last active admin stays an admin. Only flushes."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if user.role == "admin" and role != "admin" and not admins_left(session, user):
        raise ValueError("the last admin cannot give up the admin role")
    if user.role != role:
        user.role = role
        # A changed role must not live on in open sessions with the old rights.
        new_session_nonce(user)
    session.flush()


def set_active(session: Session, user: User, active: bool) -> None:
    """Deactivate (ending all their sessions) or reactivate a user. Only flushes."""
    if not active and user.role == "admin" and not admins_left(session, user):
        raise ValueError("the last admin cannot be deactivated")
    user.active = active
    if not active:
        new_session_nonce(user)
    session.flush()
