"""Employers' side: the verification page, the API against its OpenAPI document, PDF checks, rate limits, CLI."""

from __future__ import annotations

import io
from datetime import timedelta

import jsonschema
import pytest

from certplatform.extensions import db
from certplatform.models import AttemptStatus, Role
from certplatform.models.types import utcnow
from certplatform.services import certificates
from tests.conftest import csrf_token, post_form
from tests.factories import make_user
from tests.openapi_checks import validate


def _upload(client, data: bytes, name: str = "certificate.pdf"):
    return client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_verification_page_shows_a_valid_certificate(client, cert) -> None:
    html = client.get(f"/verify/{cert.id}").get_data(as_text=True)
    assert "Valid certificate" in html and cert.snapshot["holder"]["name_latin"] in html and cert.id in html
    assert "intact (Ed25519" in html
    assert cert.key_id in html
    zh = client.get(f"/verify/{cert.id.lower()}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "有效证书" in zh and "FlagOS 算子开发工程师" in zh, "IDs are case-insensitive; the page speaks Chinese"


def test_unknown_ids_reveal_nothing(client, cert) -> None:
    page = client.get("/verify/FLAGOS-L1-0000-0000")
    assert page.status_code == 404 and cert.snapshot["holder"]["name_latin"] not in page.get_data(as_text=True)
    api = client.get("/api/v1/certificates/FLAGOS-L1-0000-0000")
    assert api.status_code == 404 and api.json["error"] == "not_found" and api.json["message"]
    assert client.get("/api/v1/certificates/not-an-id").status_code == 404


def test_the_api_matches_its_openapi_document(client, cert) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1") and "/api/v1/certificates/{certificate_id}" in spec["paths"]
    record = client.get(f"/api/v1/certificates/{cert.id}").json
    validate(record, spec, "Certificate")
    assert record["status"] == "valid" and record["holder_name"] == cert.snapshot["holder"]["name_latin"]
    missing = client.get("/api/v1/certificates/FLAGOS-L1-0000-0000").json
    validate(missing, spec, "Error")
    with pytest.raises(jsonschema.ValidationError):  # the document is strict: an unknown field is not a Certificate
        validate({**record, "extra": 1}, spec, "Certificate")
    with pytest.raises(jsonschema.ValidationError):
        validate({**record, "integrity": {"intact": True, "problems": ["no_such_problem"]}}, spec, "Certificate")


def test_revoked_and_expired_show_as_such_everywhere(app, client, auth, cert, exam, candidate, mentor, keys) -> None:
    admin = make_user(Role.ADMIN, email="root@example.com")
    auth.login(admin.email)
    assert post_form(client, f"/certificates/{cert.id}/revoke", {"reason": ""}).status_code == 200  # reason required
    post_form(client, f"/certificates/{cert.id}/revoke", {"reason": "Plagiarism found after issue"})
    auth.logout()
    assert "Plagiarism found after issue" in client.get(f"/verify/{cert.id}").get_data(as_text=True)
    record = client.get(f"/api/v1/certificates/{cert.id}").json
    assert record["status"] == "revoked" and record["revocation_reason"] == "Plagiarism found after issue"
    assert "is revoked" in _upload(client, cert.pdf).get_data(as_text=True)
    assert certificates.issuing.certified_levels(candidate) == set()

    from tests.review_fixtures import passed_attempt

    old = passed_attempt(make_user(email="old@example.com"), exam)
    old.status = AttemptStatus.APPROVED
    expired = certificates.issuing.issue(
        old, issued_at=utcnow() - timedelta(days=731)
    )  # expiry is in the signed snapshot
    db.session.commit()
    assert client.get(f"/api/v1/certificates/{expired.id}").json["status"] == "expired"
    assert "Expired" in client.get(f"/verify/{expired.id}").get_data(as_text=True)


def test_the_api_answers_from_the_record_as_it_is_now(client, cert, exam, monkeypatch) -> None:
    """Verdicts on signatures are remembered between requests; a revocation or an expiry still shows at once."""
    path = f"/api/v1/certificates/{cert.id}"
    first = client.get(path)
    assert first.json["status"] == "valid" and client.get(path).data == first.data  # the second answer is remembered
    certificates.revocation.revoke(make_user(Role.ADMIN, email="root@example.com"), cert, "Found copied")
    record = client.get(path).json
    assert record["status"] == "revoked" and record["revocation_reason"] == "Found copied"
    assert record["revoked_at"] is not None and record["integrity"] == {"intact": True, "problems": []}

    from tests.review_fixtures import passed_attempt

    attempt = passed_attempt(make_user(email="second@example.com"), exam)
    attempt.status = AttemptStatus.APPROVED
    other = certificates.issuing.issue(attempt, issued_at=utcnow())
    db.session.commit()
    other_path = f"/api/v1/certificates/{other.id}"
    assert client.get(other_path).json["status"] == "valid"
    later = other.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(certificates.status, "utcnow", lambda: later)
    assert client.get(other_path).json["status"] == "expired"


def test_pdf_checks(app, client, cert, tmp_path) -> None:
    from certplatform.certificates.keys import KeyStore
    from certplatform.certificates.pdf import CertificateDocument, render_pdf, sign_pdf

    ok = _upload(client, cert.pdf).get_data(as_text=True)
    assert "Genuine and valid" in ok
    tampered = bytearray(cert.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    assert "Not a genuine certificate" in _upload(client, bytes(tampered)).get_data(as_text=True)
    # A forger prints a document with the same ID and content and signs it with a key of their own.
    foreign = KeyStore(tmp_path / "other-keys")
    foreign.init("Someone Else")
    snap = cert.snapshot
    forged = sign_pdf(
        render_pdf(
            CertificateDocument(
                certificate_id=cert.id,
                holder_name_latin=snap["holder"]["name_latin"],
                holder_name_zh=snap["holder"]["name_zh"],
                level=snap["level"],
                title_en=snap["title"]["en"],
                title_zh=snap["title"]["zh"],
                issued_on=snap["issued_at"][:10],
                expires_on=snap["expires_at"][:10],
                score_percent="95.0%",
                verify_url=certificates.issuing.verify_url(cert.id),
                key_fingerprint=foreign.active().key_id,
            )
        ),
        foreign.active(),
    )
    forged_result = _upload(client, forged).get_data(as_text=True)
    assert "Not a genuine certificate" in forged_result and "not signed by the platform" in forged_result
    assert _upload(client, b"hello").status_code == 200
    assert "Not a genuine certificate" in _upload(client, b"hello").get_data(as_text=True)
    app.config["MAX_CONTENT_LENGTH"] = 100_000  # small here, so the test upload stays in memory
    big = _upload(client, b"%PDF" + b"0" * 200_000)
    assert big.status_code == 413


def test_verify_pdf_command(runner, cert, tmp_path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(cert.pdf)
    result = runner.invoke(args=["certificates", "verify-pdf", str(good)])
    assert result.exit_code == 0 and "VALID" in result.output and cert.id in result.output
    assert f"Holder {cert.snapshot['holder']['name_latin']}" in result.output
    assert f"Valid until {cert.snapshot['expires_at'][:10]}" in result.output
    bad = tmp_path / "bad.pdf"
    data = bytearray(cert.pdf)
    data[len(data) // 2] ^= 0x20
    bad.write_bytes(bytes(data))
    result = runner.invoke(args=["certificates", "verify-pdf", str(bad)])
    assert result.exit_code == 1 and "NOT VALID" in result.output


def test_public_verification_is_rate_limited(app, client, cert) -> None:
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    codes = [client.get(f"/api/v1/certificates/{cert.id}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get(f"/api/v1/certificates/{cert.id}").json["error"] == "rate_limited"


def test_holders_see_and_download_their_certificates(client, auth, cert, candidate) -> None:
    auth.login(candidate.email)
    html = client.get("/certificates/").get_data(as_text=True)
    assert cert.id in html and "linkedin.com/profile/add" in html
    pdf = client.get(f"/certificates/{cert.id}.pdf")
    assert pdf.status_code == 200 and pdf.data == cert.pdf and pdf.mimetype == "application/pdf"
    token = client.get(f"/certificates/{cert.id}/open-badge.jwt").get_data(as_text=True)
    from certplatform.certificates.badges import verify_open_badge_jwt

    payload = verify_open_badge_jwt(token, certificates.issuing.keystore())
    assert payload["vc"]["credentialSubject"]["achievement"]["name"] == cert.snapshot["title"]["en"]
    jwks = client.get("/api/v1/issuer").json["jwks"]
    assert any(k["kid"] == cert.key_id for k in jwks["keys"])
    # Another user gets nothing.
    auth.logout()
    make_user(email="nosy@example.com")
    auth.login("nosy@example.com")
    assert client.get(f"/certificates/{cert.id}.pdf").status_code == 404
    assert client.get(f"/certificates/{cert.id}/open-badge.jwt").status_code == 404


def test_public_profile_only_when_opted_in(client, auth, cert, candidate) -> None:
    auth.login(candidate.email)
    post_form(client, "/certificates/", {"public_profile": "y"})
    slug = db.session.get(type(candidate), candidate.id).profile_slug
    assert slug and cert.id in client.get(f"/holders/{slug}/").get_data(as_text=True)
    post_form(client, "/certificates/", {})
    assert client.get(f"/holders/{slug}/").status_code == 404


def test_pdf_check_reasons_speak_the_visitors_language(client, cert) -> None:
    tampered = bytearray(cert.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    zh = {"Accept-Language": "zh-CN"}
    page = client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(bytes(tampered)), "c.pdf")},
        content_type="multipart/form-data",
        headers=zh,
    ).get_data(as_text=True)
    assert "该 PDF 在签名之后被修改过。" in page and "不是真实的证书" in page
    assert "modified" not in page
    not_pdf = client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(b"hello"), "c.pdf")},
        content_type="multipart/form-data",
        headers=zh,
    ).get_data(as_text=True)
    assert "该文件不是 PDF。" in not_pdf


def test_verify_pdf_command_speaks_the_terminals_language(runner, cert, tmp_path, monkeypatch) -> None:
    bad = tmp_path / "bad.pdf"
    data = bytearray(cert.pdf)
    data[len(data) // 2] ^= 0x20
    bad.write_bytes(bytes(data))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = runner.invoke(args=["certificates", "verify-pdf", str(bad)])
    assert result.exit_code == 1 and "签名后未被修改： 否" in result.output
    assert "该 PDF 在签名之后被修改过。" in result.output and "modified" not in result.output
    assert result.output.splitlines()[-1] == "NOT VALID", "the verdict stays the same word for scripts"
    english = runner.invoke(args=["certificates", "verify-pdf", "--lang", "en", str(bad)])
    assert "The PDF was modified after it was signed." in english.output


def test_the_pdf_check_shows_the_holder_level_and_dates_from_the_signed_record(client, cert) -> None:
    page = _upload(client, cert.pdf).get_data(as_text=True)
    snap = cert.snapshot
    assert "Genuine and valid" in page and snap["holder"]["name_latin"] in page
    assert f"{snap['level']} · {snap['title']['en']}" in page
    assert snap["issued_at"][:10] in page and snap["expires_at"][:10] in page
    zh = client.post(
        "/verify/pdf",
        data={"csrf_token": csrf_token(client, "/verify/"), "pdf": (io.BytesIO(cert.pdf), "c.pdf")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "zh-CN"},
    ).get_data(as_text=True)
    assert "持证人" in zh and snap["title"]["zh"] in zh


def test_a_wrong_check_character_is_a_typo_not_an_unknown_certificate(client, cert) -> None:
    from certplatform.certificates.ids import id_problem

    typo = next(
        cert.id[:-1] + symbol for symbol in "0123456789ABCDEFGHJKMNPQRSTVWXYZ" if id_problem(cert.id[:-1] + symbol)
    )
    page = client.get(f"/verify/{typo}")
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and "This ID contains a typo" in html and "Certificate not found" not in html
    zh = client.get(f"/verify/{typo}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "此编号有输入错误" in zh
    api = client.get(f"/api/v1/certificates/{typo}")
    assert api.status_code == 404 and api.json["error"] == "not_found" and "typo" in api.json["message"]
    unknown = client.get("/verify/FLAGOS-L1-0000-000" + _new_check("L1", "0000000")).get_data(as_text=True)
    assert "Certificate not found" in unknown and "typo" not in unknown


def _new_check(level: str, body: str) -> str:
    from certplatform.certificates.ids import check_symbol

    return check_symbol(level, body)


def test_new_ids_hold_only_letters_and_digits_and_old_ones_keep_verifying(client, exam, keys, monkeypatch) -> None:
    import re

    from certplatform.certificates import ids
    from tests.review_fixtures import passed_attempt

    fresh = passed_attempt(make_user(email="fresh@example.com"), exam)
    fresh.status = AttemptStatus.APPROVED
    new = certificates.issuing.issue(fresh)
    db.session.commit()
    assert re.fullmatch(r"FLAGOS-L1-[0-9A-Z]{4}-[0-9A-Z]{4}", new.id)
    # A certificate issued under the first scheme, whose check character is "$".
    body = next(
        f"{n:07d}".replace("0", "A")
        for n in range(10**6)
        if ids.legacy_check_symbol(f"{n:07d}".replace("0", "A")) == "$"
    )
    legacy_id = f"FLAGOS-L1-{body[:4]}-{body[4:]}$"
    monkeypatch.setattr(ids, "new_certificate_id", lambda level: legacy_id)
    old = passed_attempt(make_user(email="old-scheme@example.com", name="Olga Old"), exam)
    old.status = AttemptStatus.APPROVED
    assert certificates.issuing.issue(old).id == legacy_id
    db.session.commit()
    for path in (f"/verify/{legacy_id}", f"/verify/{legacy_id.replace('$', '%24').lower()}"):
        page = client.get(path).get_data(as_text=True)
        assert "Valid certificate" in page and "Olga Old" in page, path
    assert client.get(f"/api/v1/certificates/{legacy_id.replace('$', '%24')}").json["status"] == "valid"
    assert ">valid<" in client.get(f"/verify/{legacy_id.replace('$', '%24')}/badge.svg").get_data(as_text=True)
    assert "Genuine and valid" in _upload(client, db.session.get(type(new), legacy_id).pdf).get_data(as_text=True)


def test_employers_find_verification_on_the_home_page(client, cert) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'action="/verify/"' in home and 'name="certificate_id"' in home
    zh = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "核验证书" in zh
    typed = client.get("/verify/", query_string={"certificate_id": f"  {cert.id.lower()} "}, follow_redirects=True)
    assert "Valid certificate" in typed.get_data(as_text=True)


def test_a_revoked_api_key_gets_its_own_message(client) -> None:
    from certplatform.models import CompanyTier, OrganizationKind
    from certplatform.services import companies
    from tests.factories import make_org

    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    org = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,))
    key, secret = companies.create_key(member, org, "script")

    def call(token: str, **headers):
        return client.post(
            "/api/v1/certificates/verify",
            json={"ids": ["FLAGOS-L1-0000-0000"]},
            headers={"Authorization": f"Bearer {token}", **headers},
        )

    assert call(secret).status_code == 200
    companies.revoke_key(member, key)
    refused = call(secret)
    when = key.revoked_at.strftime("%Y-%m-%d")
    assert refused.status_code == 401 and refused.json["error"] == "key_revoked"
    assert f"this api key was revoked on {when}" in refused.json["message"].lower()
    assert when in call(secret, **{"Accept-Language": "zh-CN"}).json["message"]
    # Someone who knows only the key's public prefix learns nothing about it.
    guessed = secret[: secret.rindex("_") + 1] + "x" * 43
    assert call(guessed).status_code == 401 and call(guessed).json["error"] == "unauthorized"


def test_the_api_neither_reads_nor_sets_the_session_cookie(client, cert) -> None:
    post_form(client, "/language", {"locale": "zh_CN"})  # a visitor's language choice lives in the session
    page = client.get(f"/verify/{cert.id}")
    assert "有效证书" in page.get_data(as_text=True), "the page follows the session's language"
    api = client.get("/api/v1/certificates/FLAGOS-L1-0000-0000")
    assert api.json["message"] == "No certificate has this ID.", "the API speaks the request's Accept-Language only"
    assert "Set-Cookie" not in api.headers and "Cookie" not in api.headers.get("Vary", "")
    zh = client.get("/api/v1/certificates/FLAGOS-L1-0000-0000", headers={"Accept-Language": "zh-CN"})
    assert zh.json["message"] != "No certificate has this ID."
    assert "有效证书" in client.get(f"/verify/{cert.id}").get_data(as_text=True), "the session is untouched"
