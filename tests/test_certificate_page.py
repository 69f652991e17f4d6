"""The public certificate page, the live badge for profiles and model cards, and the baked Open Badge PNG."""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.utils import base64url_decode
from PIL import Image

from certplatform.models import Role
from certplatform.services import certificates, markdown
from certplatform.urls import public_url
from tests.factories import make_user


def _snippet(html: str, kind: str) -> str:
    found = re.search(rf'<pre id="snippet-{kind}">(.*?)</pre>', html, re.S)
    assert found, f"no {kind} snippet on the page"
    return unescape(found.group(1))


def test_the_page_shows_skills_evidence_issuer_and_share_actions(client, cert) -> None:
    html = client.get(f"/verify/{cert.id}").get_data(as_text=True)
    assert "Triton kernel development" in html and "Numerical accuracy testing" in html, "skills from course.yaml"
    assert "Exam score: 95.0%" in html
    for task in ("vector_add", "softmax", "matmul"):
        assert f"<code>{task}</code>" in html, "each task of the signed evidence"
    assert "def " not in html and "tl.load" not in html, "never the submitted code"
    assert "FlagOS Certification" in html and "/api/v1/issuer" in html
    assert f'value="{public_url("verify.page", cert_id=cert.id)}"' in html, "the link to copy is the public address"
    linkedin = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', html).group(1)
    query = parse_qs(urlsplit(unescape(linkedin)).query)
    assert query["certUrl"] == [public_url("verify.page", cert_id=cert.id)] and query["certId"] == [cert.id]
    assert f'src="/verify/badges/{cert.snapshot["level"]}.png"' in html
    zh = client.get(f"/verify/{cert.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Triton 算子开发" in zh and "考试证据" in zh and "复制链接" in zh and "Triton kernel development" not in zh


def test_the_evidence_is_signed(client, cert) -> None:
    """The tasks and scores on the page are in the signed snapshot: changing them there breaks the signature."""
    evidence = cert.snapshot["evidence"]
    assert [item["task"] for item in evidence] and all(item["score_basis_points"] == 10_000 for item in evidence)
    assert sum(item["weight_basis_points"] for item in evidence) in range(9_998, 10_003)
    found = certificates.status.assess(cert)
    assert [e.task for e in found.facts.evidence] == [item["task"] for item in evidence]


def test_older_certificates_without_evidence_still_show(client, cert, keys) -> None:
    import json

    import sqlalchemy as sa

    from certplatform.certificates.signing import sign_snapshot
    from certplatform.extensions import db

    snapshot = {k: v for k, v in cert.snapshot.items() if k != "evidence"}  # as certificates were signed before
    db.session.execute(
        sa.text("UPDATE certificates SET snapshot = :s, signature = :sig WHERE id = :id"),
        {"s": json.dumps(snapshot), "sig": sign_snapshot(snapshot, keys), "id": cert.id},
    )
    db.session.commit()
    db.session.expire_all()
    page = client.get(f"/verify/{cert.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid certificate" in html and "Exam score: 95.0%" in html
    assert '<table class="evidence">' not in html


def test_the_level_badge_art_is_a_png_per_level(client) -> None:
    pictures = {}
    for level in ("L1", "L2", "L3"):
        response = client.get(f"/verify/badges/{level}.png")
        assert response.status_code == 200 and response.mimetype == "image/png"
        pictures[level] = Image.open(io.BytesIO(response.data)).convert("RGB").getpixel((200, 40))
    assert len(set(pictures.values())) == 3, "each level has its own colour"
    assert client.get("/verify/badges/L4.png").status_code == 404


def test_the_markdown_snippet_renders_the_live_badge_linked_to_the_verify_page(client, cert) -> None:
    html = client.get(f"/verify/{cert.id}").get_data(as_text=True)
    page_url = public_url("verify.page", cert_id=cert.id)
    badge_url = public_url("verify.status_badge", cert_id=cert.id)
    rendered = markdown.render(_snippet(html, "markdown"))  # what a model card or README shows, sanitized
    link = re.search(r'<a href="([^"]+)"[^>]*><img src="([^"]+)" alt="([^"]+)"', rendered)
    assert link, rendered
    assert link.group(1) == page_url and link.group(2) == badge_url and cert.id in link.group(3)
    snippet_html = _snippet(html, "html")
    assert f'<a href="{page_url}"><img src="{badge_url}"' in snippet_html
    assert markdown.render(snippet_html) != "" and "<img" not in markdown.render(snippet_html), (
        "raw HTML is escaped by our renderer; the HTML snippet is for hosts that allow it"
    )


def test_the_live_badge_follows_revocation(client, auth, cert) -> None:
    valid = client.get(f"/verify/{cert.id}/badge.svg")
    assert valid.status_code == 200 and valid.mimetype == "image/svg+xml"
    assert ">valid<" in valid.get_data(as_text=True) and "#1e7b45" in valid.get_data(as_text=True)
    cache = valid.headers["Cache-Control"]
    assert "max-age=300" in cache and "no-store" not in cache
    zh = client.get(f"/verify/{cert.id}/badge.svg?lang=zh").get_data(as_text=True)
    assert ">有效<" in zh

    admin = make_user(Role.ADMIN, email="root@example.com")
    certificates.revocation.revoke(admin, cert, "Plagiarism found after issue")
    page = client.get(f"/verify/{cert.id}").get_data(as_text=True)
    assert 'id="snippet-markdown"' not in page and "linkedin.com" not in page, "nothing to show off once revoked"
    revoked = client.get(f"/verify/{cert.id}/badge.svg").get_data(as_text=True)
    assert ">revoked<" in revoked and "#b42318" in revoked and ">valid<" not in revoked
    unknown = client.get("/verify/FLAGOS-L1-0000-0000/badge.svg")
    assert unknown.status_code == 404 and ">not found<" in unknown.get_data(as_text=True)


def test_the_live_badge_says_not_valid_when_the_record_is_altered(client, cert) -> None:
    import sqlalchemy as sa

    from certplatform.extensions import db

    db.session.execute(
        sa.text("UPDATE certificates SET expires_at = :e WHERE id = :id"),
        {"e": cert.expires_at.replace(year=cert.expires_at.year + 5), "id": cert.id},
    )
    db.session.commit()
    db.session.expire_all()
    svg = client.get(f"/verify/{cert.id}/badge.svg").get_data(as_text=True)
    assert ">not valid<" in svg and "#1e7b45" not in svg


def _jwks_key(client, kid: str) -> Ed25519PublicKey:
    keys = {k["kid"]: k for k in client.get("/api/v1/issuer").json["jwks"]["keys"]}
    return Ed25519PublicKey.from_public_bytes(base64url_decode(keys[kid]["x"]))


def test_the_open_badge_is_baked_into_the_png(client, auth, cert, candidate) -> None:
    auth.login(candidate.email)
    response = client.get(f"/certificates/{cert.id}/open-badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    image.load()
    token = image.text["openbadgecredential"]  # an iTXt chunk, as the baking specification requires
    assert token == cert.open_badge
    assert b"iTXt" in response.data and b"zTXt" not in response.data
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, _jwks_key(client, header["kid"]), algorithms=["EdDSA"], options={"verify_exp": False})
    assert payload["sub"] == cert.id and "OpenBadgeCredential" in payload["vc"]["type"]
    with pytest.raises(jwt.InvalidSignatureError):
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        jwt.decode(forged, _jwks_key(client, header["kid"]), algorithms=["EdDSA"], options={"verify_exp": False})
    auth.logout()
    make_user(email="nosy@example.com")
    auth.login("nosy@example.com")
    assert client.get(f"/certificates/{cert.id}/open-badge.png").status_code == 404


def test_baking_replaces_a_credential_and_refuses_what_is_not_a_png() -> None:
    from certplatform.certificates.badge_images import BakingError, bake_png, baked_credential, level_badge_png

    once = bake_png(level_badge_png("L2"), "first.token.here")
    twice = bake_png(once, "second.token.here")
    assert baked_credential(twice) == "second.token.here" and twice.count(b"openbadgecredential") == 1
    assert Image.open(io.BytesIO(twice)).size == (400, 400)
    with pytest.raises(BakingError):
        bake_png(b"GIF89a", "x")


def test_holders_find_the_page_and_the_png_on_their_certificates(client, auth, cert, candidate) -> None:
    auth.login(candidate.email)
    html = client.get("/certificates/").get_data(as_text=True)
    assert f"/certificates/{cert.id}/open-badge.png" in html and f"/verify/{cert.id}" in html
    assert certificates.issuing.verify_url(cert.id) == public_url("verify.page", cert_id=cert.id)


def test_course_skills_are_validated() -> None:
    import yaml
    from pydantic import ValidationError

    from certplatform.content.schemas import CourseSpec
    from tests.content.minimal_tree import COURSE_YAML

    spec = yaml.safe_load(COURSE_YAML)
    assert [s.en for s in CourseSpec.model_validate(spec).skills] == [
        "Triton kernel development",
        "Numerical accuracy testing",
    ]
    for skills, problem in (
        ([{"zh": "甲", "en": "Same"}, {"zh": "乙", "en": "same"}], "duplicate skill"),
        ([{"zh": "甲", "en": "x" * 61}], "at most 60"),
        ([{"zh": "甲"}], "en"),
        ([{"zh": str(n), "en": str(n)} for n in range(13)], "at most 12"),
    ):
        with pytest.raises(ValidationError, match=problem):
            CourseSpec.model_validate({**spec, "skills": skills})


def test_the_live_badge_is_rate_limited_like_verification(app, client, cert) -> None:
    app.config["VERIFY_RATE_LIMIT"] = "2 per minute"
    codes = [client.get(f"/verify/{cert.id}/badge.svg").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
