"""In a real browser, in both languages, on a desktop and a phone: the verify page, the holder's certificate page and
the PDF check for a valid, a revoked, an expired and a tampered certificate; and the printed QR code, read back from
the PDF, opens the platform's own verify page on its (non-default) port.

Screenshots go to $CERTPLATFORM_SCREENSHOTS when set (to look at them), else to the test's temporary directory.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import AttemptStatus, Exam, Role
from certplatform.models.types import utcnow
from tests.conftest import live_config, serving
from tests.exam_fixtures import write_exam_root
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

HOLDERS = {  # kind -> (e-mail, Latin name, Chinese name, days since issue)
    "valid": ("li.wei@example.com", "Li Wei", "李伟", 0),
    "revoked": ("sun.li@example.com", "Sun Li", "孙丽", 0),
    "expired": ("maria@example.com", "Maria Rossi", None, 800),
    "tampered": ("zhou@example.com", "Zhou Yang", "周阳", 0),
}
HEADLINES = {
    "en": {"valid": "Valid certificate", "revoked": "Revoked", "expired": "Expired", "tampered": "Not valid"},
    "zh": {"valid": "有效证书", "revoked": "已吊销", "expired": "已过期", "tampered": "无效"},
}
PDF_VERDICTS = {
    "en": {"valid": "Genuine and valid", "revoked": "is revoked", "expired": "is expired", "tampered": "integrity"},
    "zh": {"valid": "真实且有效", "revoked": "已吊销", "expired": "已过期", "tampered": "完整性校验"},
}
ALTERED_PDF = {"en": "The PDF was modified after it was signed.", "zh": "该 PDF 在签名之后被修改过。"}
STATUS_TAGS = {
    "en": {"valid": "valid", "revoked": "revoked", "expired": "expired", "tampered": "not valid"},
    "zh": {"valid": "有效", "revoked": "已吊销", "expired": "已过期", "tampered": "无效"},
}


@pytest.fixture
def certificate_server(tmp_path: Path):
    root = write_exam_root(tmp_path / "content")
    app = create_app(live_config(tmp_path, root))
    with serving(app) as base, app.app_context():
        app.config["PUBLIC_BASE_URL"] = base  # the platform's own address, on the port it really listens on
        db.create_all()
        sync_content(root)
        from certplatform.services import certificates

        certificates.issuing.keystore().init()
        exam = db.session.scalar(sa.select(Exam))
        admin = make_user(Role.ADMIN, email="admin@example.com")
        certs = {}
        for kind, (email, name, name_zh, days) in HOLDERS.items():
            attempt = passed_attempt(make_user(email=email, name=name, name_zh=name_zh), exam)
            attempt.status = AttemptStatus.APPROVED
            certs[kind] = certificates.issuing.issue(attempt, issued_at=utcnow() - timedelta(days=days))
            db.session.commit()
        certificates.revocation.revoke(admin, certs["revoked"], "Plagiarism found after issue")
        tampered = dict(certs["tampered"].snapshot, holder={"name_latin": "Mallory Forged", "name_zh": None})
        db.session.execute(
            sa.text("UPDATE certificates SET snapshot = :s WHERE id = :id"),
            {"s": json.dumps(tampered), "id": certs["tampered"].id},
        )
        db.session.commit()
        documents = {kind: (cert.id, cert.pdf) for kind, cert in certs.items()}
        yield base, documents


def test_verification_pages_in_both_languages_and_widths(certificate_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, documents = certificate_server
    shots = _screenshot_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for lang, width, page in _visitors(browser):
            for kind, (cert_id, pdf) in documents.items():
                name = f"{kind}-{lang}-{width}"
                page.goto(f"{base}/verify/{cert_id}")
                expect(page.locator(".verify-status")).to_contain_text(HEADLINES[lang][kind])
                if kind == "tampered":
                    expect(page.locator("main")).not_to_contain_text("Mallory Forged")
                    expect(page.locator(".integrity-problems")).to_be_visible()
                page.screenshot(path=str(shots / f"verify-{name}.png"), full_page=True)
                _fits(page, width, name)

                page.goto(f"{base}/verify/")
                pdf_file = tmp_path / f"{cert_id}.pdf"
                pdf_file.write_bytes(pdf)
                page.set_input_files("input[type=file]", str(pdf_file))
                page.locator("form[action$='/verify/pdf'] button").click()
                expect(page.locator("main h1")).to_contain_text(PDF_VERDICTS[lang][kind])
                if kind != "tampered":  # the holder as signed; a record whose signature fails names nobody
                    expect(page.locator("main .facts")).to_contain_text(HOLDERS[kind][1])
                else:
                    expect(page.locator("main")).not_to_contain_text("Mallory Forged")
                page.screenshot(path=str(shots / f"pdf-check-{name}.png"), full_page=True)
                _fits(page, width, name)

                page.goto(f"{base}/auth/login")
                page.fill("#email", HOLDERS[kind][0])
                page.fill("#password", PASSWORD)
                page.click("main button[type=submit]")
                page.goto(f"{base}/certificates/")
                expect(page.locator("article.certificate .badge").first).to_have_text(STATUS_TAGS[lang][kind])
                page.screenshot(path=str(shots / f"holder-{name}.png"), full_page=True)
                _fits(page, width, name)
                page.context.clear_cookies()  # signed out again for the next holder
            # A PDF changed after signing: refused, with the reason in the visitor's language.
            altered = bytearray(documents["valid"][1])
            altered[len(altered) // 3] ^= 0x01
            pdf_file = tmp_path / "altered.pdf"
            pdf_file.write_bytes(bytes(altered))
            page.goto(f"{base}/verify/")
            page.set_input_files("input[type=file]", str(pdf_file))
            page.locator("form[action$='/verify/pdf'] button").click()
            expect(page.locator("main")).to_contain_text(ALTERED_PDF[lang])
            page.screenshot(path=str(shots / f"pdf-check-altered-{lang}-{width}.png"), full_page=True)
            _fits(page, width, f"altered-{lang}-{width}")
        browser.close()


def test_the_printed_qr_code_opens_the_platforms_own_verify_page(certificate_server, tmp_path: Path) -> None:
    import pypdfium2
    import zxingcpp
    from playwright.sync_api import expect, sync_playwright

    base, documents = certificate_server
    cert_id, pdf = documents["valid"]
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=3).to_pil()
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == f"{base}/verify/{cert_id}" and not base.endswith(":5000")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(locale="en-US")
        page.goto(code.text)  # what a phone's camera app opens
        expect(page.locator(".verify-status")).to_contain_text("Valid certificate")
        expect(page.locator("main")).to_contain_text("Li Wei")
        browser.close()


SKILL = {"en": "Triton kernel development", "zh": "Triton 算子开发"}
EVIDENCE = {"en": "Exam evidence", "zh": "考试证据"}


def test_an_employer_goes_from_the_home_page_to_the_certificate_and_its_live_badge(
    certificate_server, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from certplatform.models import User
    from certplatform.services import certificates, markdown

    base, documents = certificate_server
    cert_id = documents["valid"][0]
    shots = _screenshot_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for lang, width, page in _visitors(browser):
            page.goto(f"{base}/")
            page.screenshot(path=str(shots / f"home-{lang}-{width}.png"), full_page=True)
            _fits(page, width, f"home-{lang}-{width}")
            page.fill("#home-certificate-id", cert_id.lower().replace("-", " "))  # as read out on the phone
            page.locator("#verify button[type=submit]").click()
            expect(page.locator(".verify-status")).to_contain_text(HEADLINES[lang]["valid"])
            expect(page.locator("#skills li").first).to_have_text(SKILL[lang])
            expect(page.locator("#evidence h2")).to_have_text(EVIDENCE[lang])
            expect(page.locator("#evidence table tbody tr")).to_have_count(5)
            page.wait_for_function("document.querySelector('.cert-art').naturalWidth > 0")
            page.wait_for_function("document.querySelector('.badge-preview img').naturalWidth > 0")
            expect(page.locator("#share-link")).to_have_value(f"{base}/verify/{cert_id}")
            expect(page.locator("#share a[href^='https://www.linkedin.com/profile/add']")).to_be_visible()
            page.screenshot(path=str(shots / f"certificate-{lang}-{width}.png"), full_page=True)
            _fits(page, width, f"certificate-{lang}-{width}")

        # The Markdown snippet as a model card or a profile README shows it, before and after a revocation.
        page = browser.new_page(locale="en-US")
        page.goto(f"{base}/verify/{cert_id}")
        snippet = page.locator("#snippet-markdown").inner_text()
        card = markdown.render(f"# My model\n\nBy Li Wei {snippet}\n")

        def badge_as_shown() -> tuple[int, str]:
            viewer = browser.new_context()  # a fresh visitor: nothing cached
            shown = viewer.new_page()
            shown.set_content(card)
            shown.wait_for_function("document.querySelector('a img') && document.querySelector('a img').complete")
            natural = shown.evaluate("document.querySelector('a img').naturalWidth")
            assert shown.evaluate("document.querySelector('a').href") == f"{base}/verify/{cert_id}"
            svg = shown.request.get(shown.evaluate("document.querySelector('a img').src")).text()
            shown.screenshot(path=str(shots / f"model-card-{len(svg)}.png"))
            viewer.close()
            return natural, svg

        width_before, before = badge_as_shown()
        assert width_before > 0 and ">valid<" in before
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
        certificates.revocation.revoke(admin, certificates.issuing.lookup(cert_id), "Withdrawn after an appeal")
        width_after, after = badge_as_shown()
        assert ">revoked<" in after and width_after != width_before
        browser.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("CERTPLATFORM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _visitors(browser):
    """(language, width, page) for a visitor in each language on a desktop and on a phone; contexts closed after."""
    for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
        for width in (1280, 390):
            context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
            yield lang, width, context.new_page()
            context.close()


def _fits(page, width: int, name: str) -> None:
    """Nothing forces a horizontal scroll bar (at 390 px this is what a phone shows)."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name}: the page is {scroll}px wide in a {width}px window"
