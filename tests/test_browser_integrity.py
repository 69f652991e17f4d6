"""In a real browser: a mentor opens the similarity report, sees the copied code side by side, comments on a line by
clicking it, and decides; screenshots at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Exam, Review, Role
from tests.conftest import serving
from tests.exam_fixtures import write_exam_root
from tests.factories import PASSWORD, make_user
from tests.integrity_fixtures import renamed, solution, submit
from tests.review_fixtures import passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/integrity-shots")


@pytest.fixture
def server(tmp_path: Path):
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
        from certplatform.services.issuing import keystore

        keystore().init()
        exam = db.session.scalar(sa.select(Exam))
        passed_attempt(make_user(email="candidate@example.com", name="Li Wei"), exam)
        other = passed_attempt(make_user(email="other@example.com", name="Zhang Min"), exam)
        submit(other, "softmax", renamed(solution("softmax")))
        make_user(Role.MENTOR, email="mentor@example.com", name="Chen Jing")
    with serving(app) as base:
        yield base, app


def test_a_mentor_reads_the_report_comments_on_a_line_and_decides(server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = server
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width, height in ((1280, 900), (390, 844)):
            page = browser.new_context(locale="en-US", viewport={"width": width, "height": height}).new_page()
            page.goto(f"{base}/auth/login")
            page.fill("#email", "mentor@example.com")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.goto(f"{base}/review/")
            if page.locator("form[action$='/claim'] button").count():
                page.click("form[action$='/claim'] button")
            else:
                with app.app_context():
                    lease = db.session.scalar(sa.select(Review))
                page.goto(f"{base}/review/{lease.id}/")
            report = page.locator("#similarity")
            expect(report).to_contain_text("Similarity to other candidates")
            expect(report).not_to_contain_text("Zhang Min")
            match = report.locator("details.similarity-match").filter(has_text="submission #").first
            match.locator("summary").click()
            expect(match.locator(".compare-side")).to_have_count(2)
            expect(match.locator(".compare-side").nth(1).locator("mark").first).to_be_visible()
            match.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"report-{width}.png"))

            # Click line 8 of the softmax code that counts: a box opens under it; the comment lands in the form.
            code = page.locator("[data-line-comments=softmax] pre")
            code.locator("a[href$='softmax-L-8']").click()
            box = page.locator(".line-comment-box")
            expect(box).to_contain_text("Comment on line 8")
            box.locator("input").fill(f"the row pointer, at {width}px")
            box.locator("input").press("Enter")
            expect(page.locator(".line-comment-note")).to_contain_text(f"the row pointer, at {width}px")
            field = page.locator("textarea[name=line_comments]")
            expect(field).to_have_value(f"softmax:8: the row pointer, at {width}px\n")
            page.locator(".line-comment-note").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / f"line-comment-{width}.png"))
            if width == 390:
                break
            # Recording without a decision says so and keeps the comment.
            for criterion in (
                "correctness_beyond_tests",
                "masks_and_strides",
                "numerical_stability",
                "performance_awareness",
                "code_clarity",
            ):
                page.locator(f"input[name=score-{criterion}]").first.check()
            page.fill("textarea#comment", "The softmax matches another attempt line for line; explain it.")
            page.click("text=Record the decision")
            expect(page.locator("#decision-errors")).to_contain_text("Choose a decision.")
            expect(page.locator("textarea[name=line_comments]")).to_have_value(
                f"softmax:8: the row pointer, at {width}px\n"
            )
            page.check("input[name=decision][value=request_changes]")
            page.click("text=Record the decision")
            expect(page.locator(".flash-success")).to_contain_text("Your decision is recorded")
        with app.app_context():
            decided = db.session.scalar(sa.select(Review).where(Review.decision.is_not(None)))
            assert decided.line_comments == [{"task": "softmax", "line": 8, "text": "the row pointer, at 1280px"}]
        browser.close()
