"""In a real browser: a mentor reviews a passed L1 attempt and approves; an employer then verifies the certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Exam, Role
from tests.conftest import serving
from tests.exam_fixtures import write_exam_root
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture
def review_server(tmp_path: Path):
    root = write_exam_root(tmp_path / "content")
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "CONTENT_ROOT": str(root),
            "CERT_KEYS_DIR": str(tmp_path / "keys"),
        }
    )
    with app.app_context():
        db.create_all()
        sync_content(root)
        from certplatform.services.certificates.issuing import keystore

        keystore().init()
        candidate = make_user(email="candidate@example.com", name="Li Wei", name_zh="李伟")
        passed_attempt(candidate, db.session.scalar(sa.select(Exam)))
        make_user(Role.MENTOR, email="mentor@example.com", name="Chen Jing")
    with serving(app) as base:
        yield base, app


def test_a_mentor_approves_and_the_employer_sees_the_certificate(review_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = review_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        mentor = browser.new_context(locale="en-US").new_page()
        mentor.goto(f"{base}/auth/login")
        mentor.fill("#email", "mentor@example.com")
        mentor.fill("#password", PASSWORD)
        mentor.click("main button[type=submit]")
        mentor.click(".site-nav >> text=Reviews")
        mentor.click("form[action$='/claim'] button")
        expect(mentor.locator(".code-review").first).to_contain_text("triton.jit")
        for criterion in (
            "correctness_beyond_tests",
            "masks_and_strides",
            "numerical_stability",
            "performance_awareness",
            "code_clarity",
        ):
            mentor.locator(f"input[name=score-{criterion}]").last.check()
        mentor.check("input[name=decision][value=approve]")
        mentor.fill("textarea#comment", "Clean, well-masked kernels.")
        mentor.click("text=Record the decision")
        expect(mentor.locator(".flash-success")).to_contain_text("Your decision is recorded")
        mentor.screenshot(path=str(tmp_path / "mentor.png"), full_page=True)

        with app.app_context():
            from certplatform.models import Certificate

            cert_id = db.session.scalar(sa.select(Certificate.id))
        assert cert_id

        employer = browser.new_context(locale="zh-CN").new_page()
        employer.goto(f"{base}/verify/")
        employer.fill("#certificate_id", cert_id.lower())
        employer.click("main form[method=get] button")
        expect(employer.locator(".verify-status")).to_contain_text("有效证书")
        expect(employer.locator("main")).to_contain_text("Li Wei")
        expect(employer.locator("main")).to_contain_text("FlagOS 算子开发工程师")
        employer.screenshot(path=str(tmp_path / "employer.png"), full_page=True)

        # The candidate reads the mentor's decision and comment on the attempt page, on a phone, in Chinese.
        candidate = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
        candidate.goto(f"{base}/auth/login")
        candidate.fill("#email", "candidate@example.com")
        candidate.fill("#password", PASSWORD)
        candidate.click("main button[type=submit]")
        candidate.wait_for_url(f"{base}/dashboard")
        with app.app_context():
            from certplatform.models import Certificate

            attempt_id = db.session.scalar(sa.select(Certificate.attempt_id))
        response = candidate.goto(f"{base}/exams/l1-exam/attempts/{attempt_id}/")
        assert response.status == 200
        expect(candidate.locator(".review-result")).to_contain_text("已批准")
        expect(candidate.locator(".review-result")).to_contain_text("Clean, well-masked kernels.")
        candidate.screenshot(path=str(tmp_path / "candidate.png"), full_page=True)
        browser.close()
