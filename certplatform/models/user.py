"""Accounts and the roles they hold."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certplatform.extensions import db
from certplatform.models.types import UTCDateTime, enum_type, utcnow

if TYPE_CHECKING:
    from certplatform.models.organization import OrganizationMembership


class Role(enum.StrEnum):
    STUDENT = "student"
    MENTOR = "mentor"
    UNIVERSITY_ADMIN = "university_admin"
    COMPANY_MEMBER = "company_member"
    ADMIN = "admin"


class Locale(enum.StrEnum):
    EN = "en"
    ZH_CN = "zh_CN"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name_latin: Mapped[str] = mapped_column(sa.String(120))
    name_zh: Mapped[str | None] = mapped_column(sa.String(60))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[Locale | None] = mapped_column(enum_type(Locale, "locale"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A public profile listing the holder's certificates exists only while they opt in; the slug is random.
    public_profile: Mapped[bool] = mapped_column(default=False)
    profile_slug: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # The talent directory lists a certified holder only after they consented (default off, revocable).
    directory_opt_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    memberships: Mapped[list[OrganizationMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # The token of the server-side session this object was loaded for (not a column: see services.sessions).
    session_token = None

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to log in inactive users
        return self.active

    def login_token(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: the server-side session's token, so
        ending that session (logout, a password change) ends every copy of those cookies."""
        if not self.session_token:
            raise RuntimeError("sign users in with certplatform.services.sessions.log_in")
        return self.session_token

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def display_name(self) -> str:
        return self.name_latin

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random token; the database only its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    remember: Mapped[bool] = mapped_column(default=False)  # "keep me signed in": a remember cookie was set

    user: Mapped[User] = relationship()
