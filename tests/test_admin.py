import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AuditEvent, CompanyTier, Organization, OrganizationKind, Role, User
from certplatform.services import admin as admin_service
from tests.conftest import post_form
from tests.factories import make_org, make_user


@pytest.fixture
def admin(app, auth):
    user = make_user(Role.ADMIN, email="root@example.com")
    auth.login(user.email)
    return user


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_user_search_by_email_name_and_role(client, admin) -> None:
    make_user(Role.MENTOR, email="mentor.chen@example.com", name="Chen Jing", name_zh="陈静")
    make_user(Role.STUDENT, email="li@example.com", name="Li Wei")
    html = client.get("/admin/users?q=chen").get_data(as_text=True)
    assert "mentor.chen@example.com" in html and "li@example.com" not in html
    html = client.get("/admin/users?q=陈").get_data(as_text=True)
    assert "mentor.chen@example.com" in html
    html = client.get("/admin/users?role=mentor").get_data(as_text=True)
    assert "mentor.chen@example.com" in html and "li@example.com" not in html
    assert client.get("/admin/users?role=bogus").status_code == 200
    assert client.get("/admin/users?page=-3").status_code == 400, "a page number that cannot be is refused"


def test_grant_and_revoke_roles_are_audited(client, admin) -> None:
    user = make_user(email="li@example.com")
    assert post_form(client, f"/admin/users/{user.id}/roles", {"role": "mentor"}).status_code == 302
    assert db.session.get(User, user.id).role_set == {Role.STUDENT, Role.MENTOR}
    [grant] = _events("role.grant")
    assert (grant.actor_id, grant.target_id, grant.details) == (admin.id, str(user.id), {"role": "mentor"})

    again = post_form(client, f"/admin/users/{user.id}/roles", {"role": "mentor"}, follow_redirects=True)
    assert "already holds" in again.get_data(as_text=True)
    assert len(_events("role.grant")) == 1

    assert post_form(client, f"/admin/users/{user.id}/roles/mentor/revoke").status_code == 302
    assert db.session.get(User, user.id).role_set == {Role.STUDENT}
    assert len(_events("role.revoke")) == 1
    assert post_form(client, f"/admin/users/{user.id}/roles/nonsense/revoke").status_code == 404
    bad = post_form(client, f"/admin/users/{user.id}/roles", {"role": "superuser"}, follow_redirects=True)
    assert "Choose a valid role" in bad.get_data(as_text=True)


def test_admin_cannot_lock_themselves_out(client, admin) -> None:
    response = post_form(client, f"/admin/users/{admin.id}/roles/admin/revoke", follow_redirects=True)
    assert "cannot remove your own administrator role" in response.get_data(as_text=True)
    response = post_form(client, f"/admin/users/{admin.id}/active", {"active": "0"}, follow_redirects=True)
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).active and Role.ADMIN in db.session.get(User, admin.id).role_set


def test_last_active_admin_is_kept(app, admin) -> None:
    other = make_user(Role.ADMIN)
    admin_service.revoke_role(other, admin, Role.ADMIN)  # two admins: one may go
    former = make_user(Role.ADMIN, active=False)  # an inactive admin does not count
    with pytest.raises(admin_service.AdminError, match="at least one administrator"):
        admin_service.revoke_role(former, other, Role.ADMIN)


def test_deactivation_ends_access(app, client, admin) -> None:
    user = make_user(email="li@example.com")
    other = app.test_client()
    post_form(other, "/auth/login", {"email": "li@example.com", "password": "Correct-Horse-42"})
    assert other.get("/dashboard").status_code == 200
    post_form(client, f"/admin/users/{user.id}/active", {"active": "0"})
    assert not db.session.get(User, user.id).active
    assert other.get("/dashboard").status_code == 302, "an open session ends with deactivation"
    assert len(_events("user.deactivate")) == 1
    post_form(client, f"/admin/users/{user.id}/active", {"active": "1"})
    assert db.session.get(User, user.id).active and len(_events("user.activate")) == 1


def test_create_organizations(client, admin) -> None:
    response = post_form(
        client,
        "/admin/organizations",
        {"name": "Peking University", "slug": "pku", "kind": "university", "tier": "gold"},
    )
    assert response.status_code == 302
    pku = db.session.scalar(sa.select(Organization).where(Organization.slug == "pku"))
    assert pku.kind is OrganizationKind.UNIVERSITY and pku.tier is None, "universities have no tier"
    response = post_form(
        client, "/admin/organizations", {"name": "Chip Co", "slug": "chip-co", "kind": "company", "tier": ""}
    )
    assert response.status_code == 422 and "needs a membership tier" in response.get_data(as_text=True)
    post_form(
        client,
        "/admin/organizations",
        {"name": "Chip Co", "slug": "chip-co", "kind": "company", "tier": "platinum"},
    )
    chip = db.session.scalar(sa.select(Organization).where(Organization.slug == "chip-co"))
    assert chip.tier is CompanyTier.PLATINUM
    for bad in [{"slug": "pku"}, {"name": "Peking University", "slug": "pku2"}, {"slug": "Bad Slug!"}]:
        data = {"name": "X", "slug": "x", "kind": "university", "tier": "", **bad}
        assert post_form(client, "/admin/organizations", data).status_code == 422
    assert [e.details["slug"] for e in _events("organization.create")] == ["pku", "chip-co"]


def test_members_are_added_and_removed_with_audit(client, admin) -> None:
    org = make_org(OrganizationKind.COMPANY)
    user = make_user(email="li@example.com")
    assert post_form(client, f"/admin/organizations/{org.id}/members", {"email": "LI@example.com"}).status_code == 302
    assert [m.user_id for m in db.session.get(Organization, org.id).memberships] == [user.id]
    dup = post_form(
        client, f"/admin/organizations/{org.id}/members", {"email": "li@example.com"}, follow_redirects=True
    )
    assert "already a member" in dup.get_data(as_text=True)
    missing = post_form(
        client,
        f"/admin/organizations/{org.id}/members",
        {"email": "ghost@example.com"},
        follow_redirects=True,
    )
    assert "No account uses the email" in missing.get_data(as_text=True)
    post_form(client, f"/admin/organizations/{org.id}/members/{user.id}/remove")
    assert db.session.get(Organization, org.id).memberships == []
    assert len(_events("organization.member_add")) == 1 and len(_events("organization.member_remove")) == 1
    assert client.get("/admin/organizations/99999").status_code == 404


def test_audit_log_page_filters(client, admin) -> None:
    user = make_user()
    post_form(client, f"/admin/users/{user.id}/roles", {"role": "mentor"})
    html = client.get("/admin/audit?action=role.grant").get_data(as_text=True)
    assert "role.grant" in html and "root@example.com" in html
    assert "role=mentor" in html
