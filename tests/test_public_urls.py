"""One public address: every absolute link the platform hands out is built from PUBLIC_BASE_URL, never from Host.

The platform here runs on a non-default port and every request arrives with a forged Host header; the PDF (its
printed URL and its QR code, read back as a phone would), the Open Badge, the signed status list, the issuer
profile, the OpenAPI document, the pages and the mails may then only link to the public address (or to the few
third-party addresses they must name).
"""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import jwt
import pytest

from certplatform.extensions import db
from certplatform.models import CompanyTier, OrganizationKind, Role
from certplatform.services import class_lists, cohorts, directory
from tests.conftest import outbox, post_form
from tests.factories import make_org, make_user

PUBLIC = "http://127.0.0.1:5077"
FORGED = "http://attacker.example:5000"
# Addresses a credential or page must name that are not ours: JSON-LD contexts and LinkedIn's "add" dialog.
THIRD_PARTY = ("https://www.w3.org/ns/", "https://purl.imsglobal.org/spec/", "https://www.linkedin.com/profile/add")
_URL = re.compile(r"https?://[^\s\"'<>\\]+")
SOURCE = Path(__file__).resolve().parent.parent / "certplatform"


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"PUBLIC_BASE_URL": PUBLIC}


def _links(text: str) -> list[str]:
    """Every absolute URL in `text`, including those inside the query of another (LinkedIn's certUrl)."""
    found = []
    for url in _URL.findall(unquote(text.replace("&amp;", "&"))):
        found.append(url)
        found.extend(_links(" ".join(value for _key, value in parse_qsl(urlsplit(url).query))))
    return found


def _foreign(text: str) -> list[str]:
    """The links in `text` that point neither at the public address nor at an expected third party."""
    return [
        url
        for url in _links(text)
        if not (url == PUBLIC or url.startswith((PUBLIC + "/", PUBLIC + "#")) or url.startswith(THIRD_PARTY))
    ]


def _jwt_payload(token: str) -> str:
    return json.dumps(jwt.decode(token, options={"verify_signature": False}), ensure_ascii=False)


def test_the_code_builds_absolute_links_in_one_place() -> None:
    """Absolute links come from urls.public_url; nothing asks Flask for the request's host."""
    host_derived = re.compile(r"\b_external\s*=\s*True|request\.(host_url|url_root|host|root_url|base_url)\b")
    offenders = [
        f"{path.relative_to(SOURCE)}:{number}"
        for path in SOURCE.rglob("*")
        if path.suffix in {".py", ".html", ".txt"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if host_derived.search(line)
    ]
    assert offenders == []


def test_the_certificate_links_to_the_platforms_own_verify_page(cert) -> None:
    import pypdfium2
    import zxingcpp
    from pypdf import PdfReader

    verify_page = f"{PUBLIC}/verify/{cert.id}"
    printed = "".join(page.extract_text() for page in PdfReader(io.BytesIO(cert.pdf)).pages)
    assert verify_page in printed and _foreign(printed) == []
    image = pypdfium2.PdfDocument(cert.pdf)[0].render(scale=3).to_pil()
    codes = [code.text for code in zxingcpp.read_barcodes(image) if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert codes == [verify_page], "the QR code opens the verification page on the platform's own port"


def test_every_link_handed_out_follows_the_public_address(app, client, auth, cert, candidate) -> None:
    client.environ_base["HTTP_HOST"] = urlsplit(FORGED).netloc  # every request claims to be for another host
    auth.login(candidate.email)
    post_form(client, "/certificates/", {"public_profile": "y"})
    documents = {
        "certificates page": client.get("/certificates/").get_data(as_text=True),
        "verify page": client.get(f"/verify/{cert.id}").get_data(as_text=True),
        "badge": _jwt_payload(client.get(f"/certificates/{cert.id}/open-badge.jwt").get_data(as_text=True)),
        "status list": _jwt_payload(client.get("/api/v1/certificates/status-list").get_data(as_text=True)),
        "issuer profile": client.get("/api/v1/issuer").get_data(as_text=True),
        "openapi": client.get("/api/v1/openapi.json").get_data(as_text=True),
        "api record": client.get(f"/api/v1/certificates/{cert.id}").get_data(as_text=True),
    }
    badge = json.loads(documents["badge"])
    assert badge["iss"] == f"{PUBLIC}/api/v1/issuer" and badge["jti"] == f"{PUBLIC}/verify/{cert.id}"
    assert badge["vc"]["credentialStatus"]["statusListCredential"] == f"{PUBLIC}/api/v1/certificates/status-list"
    assert f"certUrl={PUBLIC}/verify/{cert.id}" in unquote(documents["certificates page"].replace("&amp;", "&"))
    assert f"{PUBLIC}/holders/" in documents["certificates page"]
    assert json.loads(documents["openapi"])["servers"] == [{"url": PUBLIC}]
    auth.logout()

    # Mail: a password reset, a cohort invitation and a message notification, each asked for under the forged Host.
    client.post("/auth/reset", data={"email": candidate.email, "csrf_token": _token(client)})
    admin = make_user(Role.UNIVERSITY_ADMIN, email="registrar@uni.example")
    university = make_org(OrganizationKind.UNIVERSITY, members=(admin,))
    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    company = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,), name="Chip Co")
    cohort = cohorts.create_cohort(
        admin, university.id, "Class A", "Spring", ["L1"], date(2026, 3, 1), date(2026, 7, 1)
    )
    invited = make_user(email="new@uni.example")
    directory.set_consent(candidate, True, "")
    with app.test_request_context("/", base_url=FORGED):
        class_lists.send_invitation(invited, cohort)
        directory.send(member, company, candidate, "Kernel role", "Shall we talk?")
    mails = {f"mail: {m.subject}": m.body for m in outbox(app)}
    assert len(mails) == 3
    documents.update(mails)

    auth.login(member.email)
    new_key = post_form(client, f"/company/{company.id}/keys", {"name": "hiring script"})
    documents["company keys page"] = new_key.get_data(as_text=True)
    assert f"{PUBLIC}/api/v1/certificates/verify" in documents["company keys page"]
    db.session.expire_all()

    assert {where: _foreign(text) for where, text in documents.items() if _foreign(text)} == {}
    unlinked = {where for where, text in documents.items() if not _links(text)}
    assert unlinked == {"api record"}, "the scan reads documents that do carry links"
    assert f"{PUBLIC}/verify/{cert.id}/badge.svg" in documents["verify page"], "the profile snippets"


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/auth/reset")


def test_a_malformed_public_address_stops_the_start(monkeypatch) -> None:
    from certplatform.config import ConfigError, load_config, public_base_url

    assert public_base_url("https://cert.example.org/") == "https://cert.example.org"
    assert public_base_url(" http://[::1]:5077/flagos ") == "http://[::1]:5077/flagos"
    for wrong in ("cert.example.org", "ftp://cert.example.org", "http://", "http://h:port", "https://h/?a=1"):
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            public_base_url(wrong)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5077/")
    assert load_config("development", "/tmp")["PUBLIC_BASE_URL"] == PUBLIC
