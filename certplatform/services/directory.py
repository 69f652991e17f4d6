"""The talent directory: certified holders who consented, searched by member companies, contacted through here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from certplatform.extensions import db
from certplatform.models import Certificate, CertLevel, CompanyTier, ContactMessage, Organization, User
from certplatform.models.types import utcnow
from certplatform.services import audit, certificates, mailer, outbox
from certplatform.urls import public_url

SKILL = re.compile(r"^[a-z0-9][a-z0-9+#.\-]{0,29}$")
MAX_SKILLS = 12
SEARCH_TIERS = {CompanyTier.GOLD, CompanyTier.PLATINUM}


class DirectoryError(ValueError):
    """A directory or message request that cannot be honoured; the message is safe to show."""


def clean_skills(raw: str) -> list[str]:
    tags = [t.strip().lower() for t in re.split(r"[,\s，、]+", raw or "") if t.strip()]
    bad = [t for t in tags if not SKILL.match(t)]
    if bad:
        raise DirectoryError(_("Skills are short tags such as triton, cuda or flagscale: %(bad)s", bad=", ".join(bad)))
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_SKILLS:
        raise DirectoryError(_("At most %(n)d skills.", n=MAX_SKILLS))
    return unique


def set_consent(user: User, listed: bool, skills: str) -> None:
    """Opt in to (or out of) the directory; consent is recorded with its time and can be withdrawn at any time."""
    user.skills = clean_skills(skills)
    was_listed = user.directory_opt_in_at is not None
    if listed and not was_listed:
        user.directory_opt_in_at = utcnow()
        audit.record(user, "directory.opt_in", "user", user.id)
    elif not listed and was_listed:
        user.directory_opt_in_at = None
        audit.record(user, "directory.opt_out", "user", user.id)
    db.session.commit()


def set_public_profile(user: User, public: bool) -> None:
    """Turn the holder's public profile page on or off; its address is minted the first time it goes public and
    kept after, so a link shared once keeps working whenever the profile is public again."""
    user.public_profile = public
    if public and not user.profile_slug:
        user.profile_slug = secrets.token_urlsafe(12)
    audit.record(user, "profile.public" if public else "profile.private", "user", user.id)
    db.session.commit()


def public_profile(slug: str) -> User | None:
    """The active holder whose public profile lives at `slug`, while they keep it public."""
    user = db.session.scalar(sa.select(User).where(User.profile_slug == slug, User.public_profile.is_(True)))
    return user if user is not None and user.active else None


def certificates_of(user: User) -> list[Certificate]:
    """The holder's certificates, newest first."""
    return list(
        db.session.scalars(
            sa.select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.issued_at.desc())
        )
    )


@dataclass(frozen=True)
class Listing:
    user: User
    certificates: list[Certificate]


def listings(level: CertLevel | None = None, skill: str | None = None) -> list[Listing]:
    """Every consenting holder of a valid certificate (optionally of a level, with a skill), newest first."""
    stmt = (
        sa.select(User, Certificate)
        .join(Certificate, Certificate.user_id == User.id)
        .where(
            User.directory_opt_in_at.is_not(None),
            User.active.is_(True),
            Certificate.expires_at > utcnow(),
            certificates.status.not_revoked(),
        )
        .order_by(Certificate.issued_at.desc())
    )
    if level is not None:
        stmt = stmt.where(Certificate.level == level)
    rows = db.session.execute(stmt).all()
    status = certificates.status.assess_many(cert for _user, cert in rows)  # only certificates valid by signed data
    found: dict[int, Listing] = {}
    for user, cert in rows:
        if (skill and skill.lower() not in (user.skills or [])) or status[cert.id].status != certificates.status.VALID:
            continue
        found.setdefault(user.id, Listing(user, [])).certificates.append(cert)
    return list(found.values())


def is_listed(user: User) -> bool:
    return any(listing.user.id == user.id for listing in listings())


def can_search(org: Organization) -> bool:
    return org.tier in SEARCH_TIERS


def send(
    sender: User,
    org: Organization | None,
    recipient: User,
    subject: str,
    body: str,
    reply_to: ContactMessage | None = None,
) -> ContactMessage:
    """A message through the platform; holders are reachable only while listed, or when answering them."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject or not body:
        raise DirectoryError(_("Write a subject and a message."))
    if reply_to is None and not is_listed(recipient):
        raise DirectoryError(_("This person is not listed in the directory."))
    if reply_to is not None and reply_to.recipient_id != sender.id:
        raise DirectoryError(_("You can only answer messages sent to you."))
    message = ContactMessage(
        sender_id=sender.id,
        recipient_id=recipient.id,
        organization_id=org.id if org else None,
        reply_to_id=reply_to.id if reply_to else None,
        subject=subject[:200],
        body=body[:10_000],
    )
    db.session.add(message)
    db.session.flush()
    audit.record(sender, "message.send", "user", recipient.id, message_id=message.id)
    _notify(message)
    db.session.commit()
    outbox.flush()
    return message


def _notify(message: ContactMessage) -> None:
    """Stage a mail telling the recipient a message is waiting, without passing on anyone's address."""
    recipient = message.recipient
    with force_locale(mailer.recipient_locale(recipient)):
        subject = _("New message on FlagOS Certification")
        body = render_template(
            "email/new_message.txt",
            message=message,
            link=public_url("messages.thread", message_id=message.id),
        )
    mailer.stage_mail(recipient.email, subject, body)


def visible_to(user: User, message: ContactMessage) -> bool:
    return user.id in {message.sender_id, message.recipient_id}


def mailbox(user: User) -> list[ContactMessage]:
    return list(
        db.session.scalars(
            sa.select(ContactMessage)
            .where(sa.or_(ContactMessage.recipient_id == user.id, ContactMessage.sender_id == user.id))
            .order_by(ContactMessage.created_at.desc(), ContactMessage.id.desc())
            .limit(200)
        )
    )


def mark_read(user: User, message: ContactMessage) -> None:
    if message.recipient_id == user.id and message.read_at is None:
        message.read_at = utcnow()
        db.session.commit()
