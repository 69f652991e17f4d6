"""Signed-in sessions, kept server-side so that they end when they should.

Flask-Login keeps a random token (not the user id) in the session cookie and the remember cookie; the user loader
accepts it only while its `UserSession` row is live. So logging out ends that session for every copy of its
cookies, a password change or reset ends the account's other sessions, and a user can end all but the current one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_login import current_user, login_user

from certplatform.extensions import db
from certplatform.models import User, UserSession
from certplatform.models.types import utcnow

SEEN_EVERY = timedelta(minutes=5)  # how stale `last_seen_at` may get before a request refreshes it


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(user: User, remember: bool = False) -> UserSession:
    """Start a session for `user` in this browser (the caller has cleared the old session)."""
    now = utcnow()
    config = current_app.config
    lifetime = config["REMEMBER_COOKIE_DURATION"] if remember else config["PERMANENT_SESSION_LIFETIME"]
    token = secrets.token_urlsafe(32)
    agent = request.user_agent.string if has_request_context() else ""
    row = UserSession(
        user_id=user.id,
        token_hash=_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        user_agent=agent[:200],
        remember=remember,
    )
    db.session.add(row)
    db.session.commit()
    user.session_token = token
    login_user(user, remember=remember)
    return row


def load(token: str) -> User | None:
    """The user of a live session (Flask-Login's user loader); None for an ended, expired or unknown one."""
    now = utcnow()
    row = db.session.scalar(
        sa.select(UserSession).where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
    )
    if row is None or row.expires_at <= now or not row.user.active:
        return None
    if now - row.last_seen_at > SEEN_EVERY and not (db.session.new or db.session.dirty or db.session.deleted):
        row.last_seen_at = now
        db.session.commit()
    row.user.session_token = token
    return row.user


def current() -> UserSession | None:
    token = getattr(current_user, "session_token", None) if current_user.is_authenticated else None
    if not token:
        return None
    return db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == _hash(token)))


def end_current() -> None:
    """Logout: this session ends on the server, whichever copy of its cookies comes back later."""
    row = current()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.session.commit()


def renew() -> UserSession:
    """Give this browser a new session in place of its current one, so that copies of the old cookies fail.

    After a password change or "log out everywhere else", whoever copied this browser's cookies is out as well.
    """
    old = current()
    user = current_user._get_current_object()
    if old is not None and old.ended_at is None:
        old.ended_at = utcnow()
    return log_in(user, remember=bool(old and old.remember))


def end_others(user: User, keep: UserSession | None = None) -> int:
    """End every live session of `user` but `keep`; returns how many ended (the caller commits)."""
    stmt = sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    return db.session.execute(stmt.values(ended_at=utcnow())).rowcount


def live(user: User, now: datetime | None = None) -> list[UserSession]:
    """The account's sessions that could still be used, newest activity first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None), UserSession.expires_at > now)
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def purge(now: datetime | None = None, keep_days: int = 30) -> int:
    """Forget sessions that ended or expired more than `keep_days` ago (run by the periodic sweep)."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    deleted = db.session.execute(
        sa.delete(UserSession).where(sa.or_(UserSession.ended_at < cutoff, UserSession.expires_at < cutoff))
    ).rowcount
    db.session.commit()
    return deleted
