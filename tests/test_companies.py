"""Member companies: API keys, bulk verification with per-key limits, the talent directory and messages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import ApiKey, CompanyTier, OrganizationKind, Role, VerificationCall
from certplatform.services import companies, directory
from tests.conftest import outbox, post_form
from tests.factories import make_org, make_user
from tests.openapi_checks import validate


@pytest.fixture
def company(app):
    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    org = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,), name="Chip Co")
    return org, member


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_api_key_lifecycle(client, auth, company) -> None:
    org, member = company
    auth.login(member.email)
    page = post_form(client, f"/company/{org.id}/keys", {"name": "hiring script"}).get_data(as_text=True)
    key = db.session.scalar(sa.select(ApiKey))
    secret = page.split("<pre><code>")[1].split("</code>")[0]
    assert secret.startswith(f"fcv_{key.prefix}_") and len(secret) > 50
    assert key.secret_hash != secret and secret not in key.secret_hash
    assert secret not in client.get(f"/company/{org.id}/keys").get_data(as_text=True), "shown once"
    assert companies.authenticate(secret).id == key.id
    assert companies.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    post_form(client, f"/company/{org.id}/keys/{key.id}/revoke")
    assert db.session.get(ApiKey, key.id).revoked_at is not None
    assert companies.authenticate(secret) is None
    assert client.post("/api/v1/certificates/verify", json={"ids": ["x"]}, headers=_bearer(secret)).status_code == 401


def test_bulk_verification(client, company, cert) -> None:
    org, member = company
    _key, secret = companies.create_key(member, org, "script")
    assert client.post("/api/v1/certificates/verify", json={"ids": [cert.id]}).status_code == 401
    response = client.post(
        "/api/v1/certificates/verify",
        headers=_bearer(secret),
        json={"ids": [cert.id.lower(), "FLAGOS-L1-0000-0000", "garbage"]},
    )
    assert response.status_code == 200
    spec = client.get("/api/v1/openapi.json").json
    validate(response.json, spec, "BulkResult")
    first, unknown, garbage = response.json["results"]
    assert first["found"] and first["certificate_id"] == cert.id and first["status"] == "valid"
    assert unknown == {"certificate_id": "FLAGOS-L1-0000-0000", "found": False, "error": "not_found"}
    assert garbage["found"] is False
    call = db.session.scalar(sa.select(VerificationCall))
    assert call.summary == {"valid": 1, "not_found": 2} and len(call.ids) == 3
    assert db.session.scalar(sa.select(ApiKey)).last_used_at is not None
    too_many = client.post("/api/v1/certificates/verify", headers=_bearer(secret), json={"ids": ["x"] * 101})
    assert too_many.status_code == 400 and "At most 100" in too_many.json["message"]
    for bad in ({"ids": []}, {"ids": "FLAGOS"}, {"nothing": 1}, None):
        assert client.post("/api/v1/certificates/verify", headers=_bearer(secret), json=bad).status_code == 400


def test_rate_limits_follow_the_tier_per_key(app, client, company) -> None:
    org, member = company
    silver = make_org(OrganizationKind.COMPANY, CompanyTier.SILVER, members=(member,), name="Small Co")
    app.config["API_RATE_LIMITS"] = {"platinum": "5 per minute", "gold": "3 per minute", "silver": "1 per minute"}
    _k1, gold_secret = companies.create_key(member, org, "gold")
    _k2, silver_secret = companies.create_key(member, silver, "silver")
    gold = [
        client.post("/api/v1/certificates/verify", headers=_bearer(gold_secret), json={"ids": ["x"]}).status_code
        for _ in range(4)
    ]
    assert gold == [200, 200, 200, 429]
    silver_codes = [
        client.post("/api/v1/certificates/verify", headers=_bearer(silver_secret), json={"ids": ["x"]}).status_code
        for _ in range(2)
    ]
    assert silver_codes == [200, 429], "each key counts on its own, at its company's tier"


def test_companies_never_see_each_other(client, auth, company) -> None:
    org, member = company
    other_member = make_user(Role.COMPANY_MEMBER, email="hr@rival.example")
    rival = make_org(OrganizationKind.COMPANY, CompanyTier.PLATINUM, members=(other_member,), name="Rival Co")
    rival_key, _secret = companies.create_key(other_member, rival, "rival script")
    auth.login(member.email)
    for url in (f"/company/{rival.id}/keys", f"/company/{rival.id}/directory"):
        response = client.get(url)
        assert response.status_code == 404 and "Rival Co" not in response.get_data(as_text=True)
    assert post_form(client, f"/company/{rival.id}/keys/{rival_key.id}/revoke").status_code == 404
    assert post_form(client, f"/company/{org.id}/keys/{rival_key.id}/revoke").status_code == 404
    assert db.session.get(ApiKey, rival_key.id).revoked_at is None


def test_the_directory_lists_only_consenting_holders(client, auth, company, cert, candidate) -> None:
    org, member = company
    assert directory.listings() == [], "off by default"
    auth.login(candidate.email)
    post_form(client, "/certificates/directory", {"directory-listed": "y", "directory-skills": "Triton, CUDA"})
    assert [entry.user.id for entry in directory.listings()] == [candidate.id]
    assert db.session.get(type(candidate), candidate.id).skills == ["triton", "cuda"]
    auth.logout()
    auth.login(member.email)
    page = client.get(f"/company/{org.id}/directory").get_data(as_text=True)
    assert candidate.name_latin in page and candidate.email not in page
    assert candidate.name_latin in client.get(f"/company/{org.id}/directory?level=L1&skill=triton").get_data(
        as_text=True
    )
    assert candidate.name_latin not in client.get(f"/company/{org.id}/directory?skill=rust").get_data(as_text=True)
    assert candidate.name_latin not in client.get(f"/company/{org.id}/directory?level=L2").get_data(as_text=True)
    auth.logout()
    auth.login(candidate.email)
    post_form(client, "/certificates/directory", {"directory-skills": ""})
    assert directory.listings() == [], "withdrawn at once"


def test_silver_members_browse_but_do_not_search(client, auth, company, cert, candidate) -> None:
    _org, member = company
    silver = make_org(OrganizationKind.COMPANY, CompanyTier.SILVER, members=(member,), name="Small Co")
    directory.set_consent(candidate, True, "triton")
    auth.login(member.email)
    page = client.get(f"/company/{silver.id}/directory?skill=rust").get_data(as_text=True)
    assert candidate.name_latin in page and "gold and platinum" in page


def test_contact_goes_through_the_platform(app, client, auth, company, cert, candidate) -> None:
    org, member = company
    directory.set_consent(candidate, True, "")
    auth.login(member.email)
    post_form(
        client,
        f"/company/{org.id}/directory/{candidate.id}/contact",
        {"subject": "Kernel engineer role", "body": "Would you like to talk?"},
    )
    sent = outbox(app)
    assert sent and sent[-1].to == [candidate.email]
    assert member.email not in sent[-1].body and "Chip Co" in sent[-1].body
    auth.logout()
    auth.login(candidate.email)
    inbox = client.get("/messages/").get_data(as_text=True)
    assert "Kernel engineer role" in inbox and member.email not in inbox
    message_id = directory.mailbox(candidate)[0].id
    post_form(client, f"/messages/{message_id}", {"subject": "Re: Kernel engineer role", "body": "Yes, gladly."})
    auth.logout()
    auth.login(member.email)
    assert "Re: Kernel engineer role" in client.get("/messages/").get_data(as_text=True)
    assert candidate.email not in client.get("/messages/").get_data(as_text=True)
    auth.logout()
    make_user(email="nosy@example.com")
    auth.login("nosy@example.com")
    assert client.get(f"/messages/{message_id}").status_code == 404


def test_unlisted_holders_cannot_be_contacted(client, auth, company, cert, candidate) -> None:
    org, member = company
    auth.login(member.email)
    assert client.get(f"/company/{org.id}/directory/{candidate.id}/contact").status_code == 404
    with pytest.raises(directory.DirectoryError):
        directory.send(member, org, candidate, "Hello", "Body")


def test_every_generated_key_authenticates(company) -> None:
    """Secrets are random URL-safe text (which may contain "_"); every one of them must parse and match."""
    org, member = company
    for n in range(60):
        key, secret = companies.create_key(member, org, f"key {n}")
        assert companies.authenticate(secret).id == key.id
