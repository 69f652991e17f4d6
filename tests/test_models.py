import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from certplatform.extensions import db
from certplatform.models import (
    AppendOnlyError,
    AuditEvent,
    CompanyTier,
    Locale,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from certplatform.services import audit
from tests.factories import make_org, make_user


def test_user_roles_and_enums_round_trip(app) -> None:
    user = make_user(Role.STUDENT, Role.MENTOR, name_zh="李伟")
    user.locale = Locale.ZH_CN
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(User, user.id)
    assert loaded.role_set == {Role.STUDENT, Role.MENTOR}
    assert loaded.has_role(Role.MENTOR) and not loaded.has_role(Role.ADMIN)
    assert loaded.locale is Locale.ZH_CN
    assert loaded.name_zh == "李伟"
    assert loaded.created_at.tzinfo is not None


def test_email_is_unique(app) -> None:
    make_user(email="same@example.com")
    with pytest.raises(IntegrityError):
        make_user(email="same@example.com")
    db.session.rollback()


def test_a_role_is_held_once(app) -> None:
    user = make_user(Role.STUDENT)
    db.session.execute(
        sa.text("INSERT INTO user_roles (user_id, role, granted_at) VALUES (:u, 'mentor', :t)"),
        {"u": user.id, "t": user.created_at.replace(tzinfo=None)},
    )
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("INSERT INTO user_roles (user_id, role, granted_at) VALUES (:u, 'mentor', :t)"),
            {"u": user.id, "t": user.created_at.replace(tzinfo=None)},
        )
    db.session.rollback()


def test_unknown_role_value_is_refused_by_the_database(app) -> None:
    user = make_user()
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("INSERT INTO user_roles (user_id, role, granted_at) VALUES (:u, 'root', :t)"),
            {"u": user.id, "t": user.created_at.replace(tzinfo=None)},
        )
    db.session.rollback()


def test_tier_must_match_kind(app) -> None:
    db.session.add(Organization(name="Uni", slug="uni", kind=OrganizationKind.UNIVERSITY, tier=CompanyTier.GOLD))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Organization(name="Co", slug="co", kind=OrganizationKind.COMPANY, tier=None))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    org = make_org(OrganizationKind.COMPANY, CompanyTier.PLATINUM)
    assert org.tier is CompanyTier.PLATINUM


def test_membership_is_unique(app) -> None:
    user = make_user()
    with pytest.raises(IntegrityError):
        make_org(members=(user, user))
    db.session.rollback()


def test_audit_events_are_append_only(app) -> None:
    actor = make_user(Role.ADMIN)
    event = audit.record(actor, "role.grant", "user", 7, role="mentor")
    db.session.commit()
    assert event.details == {"role": "mentor"} and event.target_id == "7"
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "role.grant"
