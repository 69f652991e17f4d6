"""In a real browser, in both languages, on a desktop and a phone: the dashboard of a new user, of a candidate whose
exam is under review (with a failed attempt before it and an unread message) and of a certificate holder.

Screenshots go to $CERTPLATFORM_SCREENSHOTS when set (to look at them), else to the test's temporary directory.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import AttemptStatus, ContactMessage, Exam, ExamAttempt, Role
from certplatform.models.types import utcnow
from tests.conftest import live_config, serving
from tests.exam_fixtures import complete_course, write_exam_root
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
FIELD_NAMES = "els => els.map(e => e.name)"  # the answer fields shown, in order: the same draw after a refusal

STEPS = {  # user -> (e-mail, the next-step card's state, what it says in en and zh)
    "new": ("new@example.com", "enrol", {"en": "See the course and enrol", "zh": "查看课程并报名"}),
    "review": ("li.wei@example.com", "review", {"en": "under mentor review", "zh": "正在接受导师评审"}),
    "certified": ("sun.li@example.com", "all_held", {"en": "You hold every level", "zh": "你已持有本项目的全部级别"}),
}


@pytest.fixture
def dashboard_server(tmp_path: Path):
    root = write_exam_root(tmp_path / "content")
    app = create_app(live_config(tmp_path, root))
    with serving(app) as base, app.app_context():
        app.config["PUBLIC_BASE_URL"] = base
        db.create_all()
        sync_content(root)
        from certplatform.services import certificates

        certificates.issuing.keystore().init()
        exam = db.session.scalar(sa.select(Exam))
        make_user(email=STEPS["new"][0], name="Wang Fang", name_zh="王芳")
        candidate = make_user(email=STEPS["review"][0], name="Li Wei", name_zh="李伟")
        complete_course(candidate)
        now = utcnow()
        db.session.add(
            ExamAttempt(
                user_id=candidate.id,
                exam_id=exam.id,
                status=AttemptStatus.FAILED,
                started_at=now - timedelta(days=9, hours=2),
                deadline_at=now - timedelta(days=9),
                finished_at=now - timedelta(days=9),
                score=0.55,
                content_version=exam.content_version,
            )
        )
        passed_attempt(candidate, exam)
        recruiter = make_user(Role.COMPANY_MEMBER, email="hr@example.com", name="Zhao Min")
        db.session.add(
            ContactMessage(
                sender_id=recruiter.id,
                recipient_id=candidate.id,
                subject="Operator engineer role in Beijing",
                body="Hello",
            )
        )
        holder = make_user(email=STEPS["certified"][0], name="Sun Li", name_zh="孙丽")
        complete_course(holder)
        attempt = passed_attempt(holder, exam)
        attempt.status = AttemptStatus.APPROVED
        certificates.issuing.issue(attempt)
        db.session.commit()
        yield base


def test_dashboards_in_both_languages_and_widths(dashboard_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = dashboard_server
    shots = Path(os.environ.get("CERTPLATFORM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
            for width in (1280, 390):
                for who, (email, step, says) in STEPS.items():
                    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
                    page = context.new_page()
                    page.goto(f"{base}/auth/login")
                    page.fill("#email", email)
                    page.fill("#password", PASSWORD)
                    page.click("main button[type=submit]")
                    page.wait_for_url(f"{base}/dashboard")
                    card = page.locator("#next-step")
                    expect(card).to_have_attribute("data-step", step)
                    expect(card).to_contain_text(says[lang])
                    if who == "review":
                        expect(page.locator("#continue a.button")).to_be_visible()
                        expect(page.locator("#exam-results li")).to_have_count(2)
                        expect(page.locator("#messages")).to_contain_text("Operator engineer role in Beijing")
                    if who == "certified":
                        expect(page.locator("#certificates .badge-valid")).to_be_visible()
                    name = f"dashboard-{who}-{lang}-{width}"
                    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    assert scroll <= width, f"{name}: the page is {scroll}px wide in a {width}px window"
                    context.close()
        browser.close()


@pytest.fixture
def quiz_server(tmp_path: Path):
    from tests.test_quiz_pools import write_pool_tree

    root = write_pool_tree(tmp_path / "content")
    app = create_app(live_config(tmp_path, root))
    with serving(app) as base, app.app_context():
        db.create_all()
        sync_content(root)
        from certplatform.models import Course, QuizAttempt
        from certplatform.services import learning

        course = db.session.scalar(sa.select(Course))
        learner = make_user(email="learner@example.com", name="Li Wei")
        learning.enroll(learner, course)
        waiting = make_user(email="waiting@example.com", name="Sun Li")
        learning.enroll(waiting, course)
        quiz = course.modules[0].quiz
        for minutes_ago in (20, 10):  # both attempts used: 30 minutes' cooldown from the last one
            db.session.add(
                QuizAttempt(
                    user_id=waiting.id,
                    quiz_id=quiz.id,
                    submitted_at=utcnow() - timedelta(minutes=minutes_ago),
                    score=0.25,
                    passed=False,
                    answers={},
                    results={},
                    content_version=course.content_version,
                )
            )
        db.session.commit()
        yield base


def test_quiz_pages_in_both_languages_and_widths(quiz_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = quiz_server
    url = f"{base}/courses/l1/01-basics/quiz"
    shots = Path(os.environ.get("CERTPLATFORM_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    errors = {"en": "Nothing was graded yet", "zh": "尚未评分"}
    waits = {"en": "You can try again from", "zh": "起可以再次作答"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
            for width in (1280, 390):
                for email in ("learner@example.com", "waiting@example.com"):
                    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
                    page = context.new_page()
                    page.goto(f"{base}/auth/login")
                    page.fill("#email", email)
                    page.fill("#password", PASSWORD)
                    page.click("main button[type=submit]")
                    page.wait_for_url(f"{base}/dashboard")
                    page.goto(url)
                    if email.startswith("waiting"):
                        expect(page.locator("#quiz-cooldown")).to_contain_text(waits[lang])
                        name = f"quiz-cooldown-{lang}-{width}"
                    else:
                        shown = page.locator("fieldset.question legend").all_inner_texts()
                        assert len(shown) == 4
                        names = page.eval_on_selector_all("fieldset.question input", FIELD_NAMES)
                        page.locator("fieldset.question input[type=radio]").first.check()
                        page.click("form.quiz button[type=submit]")
                        expect(page.locator("#quiz-error")).to_contain_text(errors[lang])
                        expect(page.locator("fieldset.question input[type=radio]").first).to_be_checked()
                        assert page.eval_on_selector_all("fieldset.question input", FIELD_NAMES) == names
                        name = f"quiz-missing-answers-{lang}-{width}"
                    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    assert scroll <= width, f"{name}: the page is {scroll}px wide in a {width}px window"
                    context.close()
        browser.close()
