"""Registration, authentication, passwords and password-reset tokens."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from certplatform.config import BaseConfig
from certplatform.extensions import db
from certplatform.models import Locale, Role, User, UserRole, UserSession
from certplatform.models.types import utcnow
from certplatform.services import audit, sessions

RESET_SALT = "password-reset"


@functools.cache
def _dummy_hash() -> str:
    """A hash made on the first login with an unknown email, so that one costs as much as a login with a known one."""
    return hash_password("certplatform-timing-equaliser")  # the same method and cost as real hashes


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is safe to show to the user.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# The validator explains itself in English; its explanations, by what they start with, as short codes that are
# worded in the reader's language (the catch-all last).
_EMAIL_PROBLEMS = (
    ("An email address must have an @-sign", "no_at"),
    ("There must be something before the @-sign", "nothing_before_at"),
    ("There must be something after the @-sign", "nothing_after_at"),
    ("An email address cannot have two periods in a row", "two_dots"),
    ("The email address is too long", "too_long"),
    ("The part after the @-sign", "domain"),
    ("After the @-sign", "domain"),
    ("The email address contains", "characters"),
    ("Internationalized characters", "characters"),
    ("The email address is not valid ASCII", "characters"),
)


def email_message(why: str) -> str:
    """`This is not a valid email address: ...`, with the reason code `why` worded in the reader's language."""
    reasons = {
        "no_at": _("it has no @ sign"),
        "nothing_before_at": _("nothing comes before the @ sign"),
        "nothing_after_at": _("nothing comes after the @ sign"),
        "two_dots": _("it has two dots in a row"),
        "too_long": _("it is too long"),
        "domain": _("the part after the @ sign is not a domain that can receive mail"),
        "characters": _("it contains characters that an address cannot hold"),
        "other": _("check it for typing mistakes"),
    }
    return _("This is not a valid email address: %(reason)s", reason=reasons.get(why, reasons["other"]))


def email_problem(raw: str) -> str | None:
    """Why `raw` is not a usable address, as a code for `email_message`; None when it is one."""
    try:
        validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        text = str(exc)
        return next((code for start, code in _EMAIL_PROBLEMS if text.startswith(start)), "other")
    return None


def normalise_email(raw: str) -> str:
    """Validate an address and return its canonical form (lower-cased, IDNA domain); raises AccountError."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(email_message(email_problem(raw) or "other"), "email") from exc
    return result.normalized.lower()


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    min_len = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_len:
        return _("use at least %(n)d characters", n=min_len)
    if len(password) > 256:
        return _("use at most 256 characters")
    if password.lower() == password or password.upper() == password or not any(c.isdigit() for c in password):
        return _("mix upper- and lower-case letters and at least one digit")
    if email and email.split("@")[0].lower() in password.lower():
        return _("do not use the name part of your email address")
    return None


def hash_password(password: str) -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else BaseConfig.PASSWORD_HASH_METHOD
    return generate_password_hash(password, method=method)


def find_by_email(email: str) -> User | None:
    try:
        email = normalise_email(email)
    except AccountError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == email))


def register(
    email: str, password: str, name_latin: str, name_zh: str | None = None, locale: Locale | None = None
) -> User:
    """Create a student account; raises AccountError on a taken email or weak password."""
    email = normalise_email(email)
    problem = password_problem(password, email)
    if problem:
        raise AccountError(_("Password too weak: %(problem)s.", problem=problem), "password")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise AccountError(_("An account with this email already exists."), "email")
    user = User(
        email=email,
        name_latin=name_latin.strip(),
        name_zh=(name_zh or "").strip() or None,
        password_hash=hash_password(password),
        locale=locale,
    )
    user.roles.append(UserRole(role=Role.STUDENT))
    db.session.add(user)
    db.session.flush()
    audit.record(user, "user.register", "user", user.id, email=email)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Costs the same for unknown emails."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str, keep: UserSession | None = None) -> None:
    """Change the password; every session of the account but `keep` (the one changing it) ends."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError(_("The current password is not correct."), "current")
    _set_password(user, new, "user.password_change", keep)


def _set_password(user: User, new: str, action: str, keep: UserSession | None = None) -> None:
    problem = password_problem(new, user.email)
    if problem:
        raise AccountError(_("Password too weak: %(problem)s.", problem=problem), "password")
    user.password_hash = hash_password(new)
    ended = sessions.end_others(user, keep)
    audit.record(user, action, "user", user.id, sessions_ended=ended)
    db.session.commit()


@dataclass(frozen=True)
class ResetToken:
    token: str
    user: User


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    # Bound to the current hash, a token is single-use: after a password change it no longer verifies.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


RESET, INVITATION = "reset", "invitation"


def make_reset_token(user: User, kind: str = RESET) -> str:
    """A single-use link token; an invitation (a new account choosing its first password) lives longer than a reset."""
    return _serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user), "kind": kind})


def user_for_reset_token(token: str) -> User:
    """The user a valid reset or invitation token belongs to; raises AccountError if expired, used or forged."""
    try:
        data, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature as exc:
        raise AccountError(_("This reset link is not valid.")) from exc
    kind = data.get("kind", RESET) if isinstance(data, dict) else RESET
    max_age = current_app.config["INVITATION_MAX_AGE" if kind == INVITATION else "PASSWORD_RESET_MAX_AGE"]
    if (utcnow() - signed_at).total_seconds() > max_age:
        raise AccountError(_("This reset link has expired. Ask for a new one."))
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("pw") != _password_fingerprint(user):
        raise AccountError(_("This reset link has already been used or is not valid."))
    return user


def reset_password(token: str, new: str) -> User:
    """Set a new password with a reset link; every session of the account ends (it may have been stolen)."""
    user = user_for_reset_token(token)
    _set_password(user, new, "user.password_reset")
    return user


def set_locale(user: User, locale: Locale) -> None:
    user.locale = locale
    db.session.commit()


def update_profile(user: User, name_latin: str, name_zh: str | None, locale: Locale | None) -> None:
    user.name_latin = name_latin.strip()
    user.name_zh = (name_zh or "").strip() or None
    user.locale = locale
    audit.record(user, "user.profile_update", "user", user.id)
    db.session.commit()
