"""Certificate status comes from signed data only: an insider with write access to the database cannot forge it.

Each test changes a column behind the application's back (raw SQL, on SQLite and PostgreSQL) and then asks every
channel — the verify page, the GET API, the bulk API, the PDF check and the holder's own page — which must all say
"not valid", never "valid", and never show what the forger wrote.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, Certificate, CertificateRevocation, CompanyTier, OrganizationKind, Role
from certplatform.models.types import utcnow
from certplatform.services import certificates, companies
from tests.conftest import csrf_token
from tests.factories import make_org, make_user
from tests.openapi_checks import validate
from tests.review_fixtures import passed_attempt

FORGED = "Mallory Forged"


@dataclass
class World:
    valid: Certificate
    revoked: Certificate
    expired: Certificate
    holders: dict[str, str]  # certificate ID -> holder's e-mail
    api_key: str


def _issue(exam, email: str, name: str, days_ago: int = 0) -> Certificate:
    attempt = passed_attempt(make_user(email=email, name=name), exam)
    attempt.status = AttemptStatus.APPROVED
    cert = certificates.issuing.issue(attempt, issued_at=utcnow() - timedelta(days=days_ago))
    db.session.commit()
    return cert


@pytest.fixture
def world(app, exam, keys) -> World:
    admin = make_user(Role.ADMIN, email="root@example.com")
    valid = _issue(exam, "valid@example.com", "Vera Valid")
    revoked = _issue(exam, "revoked@example.com", "Rolf Revoked")
    expired = _issue(exam, "expired@example.com", "Erik Expired", days_ago=800)
    certificates.revocation.revoke(admin, revoked, "Plagiarism found after issue")
    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    org = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,))
    _key, secret = companies.create_key(member, org, "checks")
    holders = {valid.id: "valid@example.com", revoked.id: "revoked@example.com", expired.id: "expired@example.com"}
    return World(valid, revoked, expired, holders, secret)


def _sql(statement: str, **params) -> None:
    """Write straight to the database, as an insider would: no ORM, no application rules."""
    db.session.execute(sa.text(statement), params)
    db.session.commit()
    db.session.expire_all()


def _snapshot(cert_id: str) -> dict:
    raw = db.session.execute(sa.text("SELECT snapshot FROM certificates WHERE id = :id"), {"id": cert_id}).scalar()
    return json.loads(raw) if isinstance(raw, str) else raw


@dataclass
class Channels:
    page: str
    api: dict
    bulk: dict
    pdf: str
    holder_page: str


def _channels(client, auth, world: World, cert_id: str) -> Channels:
    page = client.get(f"/verify/{cert_id}").get_data(as_text=True)
    api = client.get(f"/api/v1/certificates/{cert_id}").json
    bulk = client.post(
        "/api/v1/certificates/verify", json={"ids": [cert_id]}, headers={"Authorization": f"Bearer {world.api_key}"}
    )
    spec = client.get("/api/v1/openapi.json").json
    validate(api, spec, "Certificate")
    validate(bulk.json, spec, "BulkResult")
    pdf = db.session.get(Certificate, cert_id).pdf
    checked = client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(pdf), "certificate.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    auth.login(world.holders[cert_id])
    holder_page = client.get("/certificates/").get_data(as_text=True)
    auth.logout()
    return Channels(page, api, bulk.json["results"][0], checked, holder_page)


def _assert_not_valid(channels: Channels, problem: str) -> None:
    assert "Valid certificate" not in channels.page and "Not valid" in channels.page
    assert FORGED not in channels.page
    for record in (channels.api, channels.bulk):
        assert record["status"] == "invalid", record
        assert record["integrity"]["intact"] is False and problem in record["integrity"]["problems"], record
        assert record["holder_name"] != FORGED
    assert "Genuine and valid" not in channels.pdf and "integrity check" in channels.pdf
    assert "not valid" in channels.holder_page and "badge-valid" not in channels.holder_page


def test_an_untouched_record_is_valid_in_every_channel(client, auth, world) -> None:
    channels = _channels(client, auth, world, world.valid.id)
    assert "Valid certificate" in channels.page and "Vera Valid" in channels.page
    for record in (channels.api, channels.bulk):
        assert record["status"] == "valid" and record["integrity"] == {"intact": True, "problems": []}
    assert "Genuine and valid" in channels.pdf
    assert "badge-valid" in channels.holder_page
    revoked = _channels(client, auth, world, world.revoked.id)
    assert revoked.api["status"] == revoked.bulk["status"] == "revoked" and revoked.api["integrity"]["intact"]
    assert revoked.api["revocation_reason"] == "Plagiarism found after issue" and revoked.api["revoked_at"]
    assert "is revoked" in revoked.pdf and "Plagiarism found after issue" in revoked.page
    expired = _channels(client, auth, world, world.expired.id)
    assert expired.api["status"] == expired.bulk["status"] == "expired" and "Expired" in expired.page


def test_a_forged_holder_name_is_not_valid_anywhere(client, auth, world) -> None:
    snapshot = _snapshot(world.valid.id)
    snapshot["holder"]["name_latin"] = FORGED
    _sql("UPDATE certificates SET snapshot = :s WHERE id = :id", s=json.dumps(snapshot), id=world.valid.id)
    channels = _channels(client, auth, world, world.valid.id)
    _assert_not_valid(channels, "record_signature")
    assert channels.api["holder_name"] is None, "unsigned data is not handed out as fact"


@pytest.mark.parametrize("which", ["expired", "valid"])
def test_moving_expires_at_changes_nothing_but_integrity(client, auth, world, which) -> None:
    cert = getattr(world, which)
    _sql(
        "UPDATE certificates SET expires_at = :e WHERE id = :id",
        e=utcnow().replace(tzinfo=None) + timedelta(days=3650),
        id=cert.id,
    )
    _assert_not_valid(_channels(client, auth, world, cert.id), "record_mismatch")


@pytest.mark.parametrize(
    ("column", "value"),
    [("issued_at", None), ("level", "L3"), ("renews_id", "self"), ("user_id", "other"), ("status_index", 99_999)],
)
def test_every_column_is_checked_against_the_signed_snapshot(client, auth, world, exam, column, value) -> None:
    if column == "issued_at":
        value = utcnow().replace(tzinfo=None) - timedelta(days=3)
    elif value == "self":
        value = world.expired.id
    elif value == "other":  # the certificate moves to another account, whose own page must not call it valid
        value = make_user(email="thief@example.com").id
        world.holders[world.valid.id] = "thief@example.com"
    _sql(f"UPDATE certificates SET {column} = :v WHERE id = :id", v=value, id=world.valid.id)  # noqa: S608
    _assert_not_valid(_channels(client, auth, world, world.valid.id), "record_mismatch")


def test_a_genuine_snapshot_copied_onto_another_row_is_caught(client, auth, world) -> None:
    """The revoked certificate's row takes the valid one's snapshot and signature, both genuine."""
    source = db.session.get(Certificate, world.valid.id)
    _sql(
        "UPDATE certificates SET snapshot = :s, signature = :g, key_id = :k WHERE id = :id",
        s=json.dumps(source.snapshot),
        g=source.signature,
        k=source.key_id,
        id=world.revoked.id,
    )
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "record_signature")


def test_an_unknown_signing_key_is_not_valid(client, auth, world) -> None:
    _sql("UPDATE certificates SET key_id = 'ffffffffffffffff' WHERE id = :id", id=world.valid.id)
    _assert_not_valid(_channels(client, auth, world, world.valid.id), "record_signature")


def test_deleting_the_revocation_record_is_caught(client, auth, world) -> None:
    _sql("DELETE FROM certificate_revocations WHERE certificate_id = :id", id=world.revoked.id)
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "revocation_missing")


@pytest.mark.parametrize(
    ("column", "value"), [("revoked_at", "2020-01-01 00:00:00"), ("reason", "Issued in error"), ("revoked_by_id", None)]
)
def test_an_edited_revocation_record_is_caught(client, auth, world, column, value) -> None:
    _sql(
        f"UPDATE certificate_revocations SET {column} = :v WHERE certificate_id = :id",  # noqa: S608
        v=value,
        id=world.revoked.id,
    )
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "revocation_signature")


def test_a_revocation_record_copied_from_another_certificate_is_caught(client, auth, world, exam) -> None:
    """The revoked certificate's record is replaced by a copy of another revocation, pointed at it."""
    other = _issue(exam, "other@example.com", "Otto Other")
    certificates.revocation.revoke(make_user(Role.ADMIN), other, "Duplicate account")
    _sql("DELETE FROM certificate_revocations WHERE certificate_id = :id", id=world.revoked.id)
    _sql(
        "INSERT INTO certificate_revocations (certificate_id, revoked_at, revoked_by_id, reason, key_id, signature) "
        "SELECT :target, revoked_at, revoked_by_id, reason, key_id, signature FROM certificate_revocations "
        "WHERE certificate_id = :source",
        target=world.revoked.id,
        source=other.id,
    )
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "revocation_signature")
    # Pointing a copy at a certificate that was never revoked does not revoke it silently either.
    _sql(
        "UPDATE certificate_revocations SET certificate_id = :target WHERE certificate_id = :source",
        target=world.valid.id,
        source=other.id,
    )
    _assert_not_valid(_channels(client, auth, world, world.valid.id), "revocation_signature")


def test_a_restored_backup_from_before_the_revocation_is_caught(client, auth, world) -> None:
    """The database is rolled back to before the revocation; the signed status list outside it still knows."""
    _sql("DELETE FROM certificate_revocations")
    _sql("DELETE FROM audit_events WHERE action = 'certificate.revoke'")
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "revocation_missing")
    assert _channels(client, auth, world, world.valid.id).api["status"] == "valid", "the others are unaffected"


def test_a_damaged_status_list_fails_closed(app, client, auth, world, tmp_path) -> None:
    from certplatform.certificates.keys import KeyStore
    from certplatform.certificates.status_list import FILE_NAME, status_list_jwt

    listed = Path(app.config["CERT_KEYS_DIR"]) / FILE_NAME
    foreign = KeyStore(tmp_path / "foreign")
    foreign.init()
    # An empty list signed by someone else, claiming the platform's key id, would "unrevoke" everything.
    token = status_list_jwt([], list_url="x", issuer_url="y", issuer_name="z", keyset=foreign.active(), now=utcnow())
    _header, payload, signature = token.split(".")
    ours = status_list_jwt(
        [], list_url="x", issuer_url="y", issuer_name="z", keyset=certificates.issuing.keystore().active(), now=utcnow()
    )
    listed.write_text(f"{ours.split('.')[0]}.{payload}.{signature}\n", encoding="ascii")
    _assert_not_valid(_channels(client, auth, world, world.valid.id), "status_list")
    listed.write_text("garbage\n", encoding="ascii")
    _assert_not_valid(_channels(client, auth, world, world.revoked.id), "status_list")
    with pytest.raises(certificates.issuing.IssuingError, match="could not be signed"):
        certificates.revocation.revoke(make_user(Role.ADMIN), world.valid, "x")
    assert listed.read_text(encoding="ascii") == "garbage\n", "a damaged list is never overwritten"
    assert db.session.scalar(sa.select(sa.func.count(CertificateRevocation.id))) == 1, "and nothing was stored"


def test_files_changed_after_a_verification_are_read_again(app, client, auth, world, tmp_path) -> None:
    """Verification remembers what it parsed of the key files and the signed list by their exact bytes: a list or a
    key changed on disk after a request is what the next request believes, in the same process."""
    from certplatform.certificates.keys import KeyStore
    from certplatform.certificates.status_list import StatusListStore

    assert _channels(client, auth, world, world.valid.id).api["status"] == "valid"  # caches warm
    store = certificates.issuing.keystore()
    index = certificates.status.status_index(world.valid, certificates.status.assess(world.valid).facts)
    StatusListStore(store.directory).add(
        {index}, keystore=store, list_url="x", issuer_url="y", issuer_name=store.active().issuer_name
    )
    _assert_not_valid(_channels(client, auth, world, world.valid.id), "revocation_missing")

    foreign = KeyStore(tmp_path / "foreign")
    foreign.init()
    cert_file = store.directory / store.active().key_id / "pdf-cert.pem"
    cert_file.write_bytes((foreign.directory / foreign.active().key_id / "pdf-cert.pem").read_bytes())
    channels = _channels(client, auth, world, world.expired.id)
    for record in (channels.api, channels.bulk):
        assert record["status"] == "invalid" and "record_signature" in record["integrity"]["problems"], record
    assert "Not valid" in channels.page and "Valid certificate" not in channels.page
    # The uploaded PDF cannot be judged without the keys: said so, never "genuine", and no error page.
    assert "signing keys cannot be read right now" in channels.pdf and "Genuine and valid" not in channels.pdf


def test_key_rotation_keeps_every_record_verifiable(runner, client, auth, world, exam) -> None:
    before = certificates.issuing.keystore().active().key_id
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    admin = make_user(Role.ADMIN, email="second-admin@example.com")
    late = _issue(exam, "late@example.com", "Lena Late")
    certificates.revocation.revoke(admin, world.valid, "Revoked after the rotation")
    assert late.key_id != before and world.revoked.key_id == before
    assert _channels(client, auth, world, world.revoked.id).api["status"] == "revoked"
    assert _channels(client, auth, world, world.valid.id).api["status"] == "revoked"
    assert _channels(client, auth, world, world.expired.id).api["status"] == "expired"
    world.holders[late.id] = "late@example.com"
    assert _channels(client, auth, world, late.id).api["status"] == "valid"
    # Signing the list again under the new key keeps every bit.
    result = runner.invoke(args=["certificates", "publish-status-list"])
    assert result.exit_code == 0 and "2 revoked" in result.output
    assert _channels(client, auth, world, world.revoked.id).api["status"] == "revoked"


def test_eligibility_and_the_directory_believe_signed_data_only(world) -> None:
    from certplatform.services import directory

    holder = db.session.get(Certificate, world.expired.id).user
    assert certificates.issuing.certified_levels(holder) == set()
    _sql(
        "UPDATE certificates SET expires_at = :e WHERE id = :id",
        e=utcnow().replace(tzinfo=None) + timedelta(days=30),
        id=world.expired.id,
    )
    assert certificates.issuing.certified_levels(holder) == set(), "a moved expiry does not certify anyone"
    directory.set_consent(holder, True, "")
    assert directory.listings() == []
    revoked_holder = db.session.get(Certificate, world.revoked.id).user
    _sql("DELETE FROM certificate_revocations WHERE certificate_id = :id", id=world.revoked.id)
    assert certificates.issuing.certified_levels(revoked_holder) == set(), (
        "a deleted revocation does not certify anyone"
    )


def test_stored_files_are_handed_out_only_while_they_match(client, auth, world) -> None:
    """The holder's PDF and Open Badge are columns too: a swapped file is refused, not served."""
    genuine = world.valid.pdf
    other = db.session.get(Certificate, world.expired.id)
    _sql(
        "UPDATE certificates SET pdf = :p, open_badge = :b WHERE id = :id",
        p=other.pdf,
        b=other.open_badge,
        id=world.valid.id,
    )
    auth.login(world.holders[world.valid.id])
    pdf = client.get(f"/certificates/{world.valid.id}.pdf", follow_redirects=True)
    assert pdf.mimetype == "text/html" and "integrity check" in pdf.get_data(as_text=True)
    badge = client.get(f"/certificates/{world.valid.id}/open-badge.jwt", follow_redirects=True)
    assert badge.mimetype == "text/html" and "integrity check" in badge.get_data(as_text=True)
    # The genuine PDF still proves itself: the signed snapshot names its hash.
    checked = client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(genuine), "c.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Genuine and valid" in checked


def test_revocations_cannot_be_rewritten_through_the_application(world) -> None:
    from certplatform.models import ImmutableCertificateError

    record = db.session.scalar(sa.select(CertificateRevocation))
    record.reason = "withdrawn"
    with pytest.raises(ImmutableCertificateError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(CertificateRevocation)))
    with pytest.raises(ImmutableCertificateError):
        db.session.commit()
    db.session.rollback()
    cert = db.session.get(Certificate, world.valid.id)
    cert.open_badge = "replaced"
    with pytest.raises(ImmutableCertificateError, match="open_badge"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(certificates.issuing.IssuingError, match="already revoked"):
        certificates.revocation.revoke(make_user(Role.ADMIN), db.session.get(Certificate, world.revoked.id), "again")
