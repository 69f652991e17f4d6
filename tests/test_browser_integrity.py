"""In a real browser: a mentor opens the similarity report, sees the copied code side by side, comments on a line by
clicking it, and decides; screenshots at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import Exam, Review
from tests.factories import PASSWORD, make_user
from tests.integrity_fixtures import renamed, solution, submit
from tests.review_fixtures import passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_browser_review import review_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def server(review_server):  # noqa: F811
    """The review server (Li Wei's passed attempt, a mentor) with a second candidate who copied the softmax."""
    base, app = review_server
    with app.app_context():
        other = passed_attempt(
            make_user(email="other@example.com", name="Zhang Min"), db.session.scalar(sa.select(Exam))
        )
        submit(other, "softmax", renamed(solution("softmax")))
    return base, app


def test_a_mentor_reads_the_report_comments_on_a_line_and_decides(server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = server
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
            page.screenshot(path=str(tmp_path / f"report-{width}.png"))

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
            page.screenshot(path=str(tmp_path / f"line-comment-{width}.png"))
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
