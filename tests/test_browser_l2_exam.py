"""In a real browser: a candidate who holds an L1 certificate and finished the L2 course takes the L2 exam
`l2-cross-chip`, graded live in real containers against public and hidden chip profiles, hands it in, and reads
it in Chinese on a phone."""

from __future__ import annotations

import os
import uuid
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import CertLevel, Course, ReviewDecision, Role
from certplatform.services import attempts, certificates, review
from tests import services
from tests.conftest import serving
from tests.editor_page import fill_editor
from tests.exam_fixtures import REPO, complete_course
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import full_scores, passed_attempt
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]
EXAM = REPO / "exams" / "l2-cross-chip"
TASKS = ("portable_softmax", "gather_rows", "rms_norm_bf16", "tuned_mm", "migrate_block")


@pytest.fixture
def l2_server(tmp_path: Path):
    import docker

    from certplatform.sandbox import images

    with closing(docker.from_env(timeout=600)) as client:
        images.build_runtime_image(client, "triton-cpu", REPO)
    queue = f"browser-{uuid.uuid4().hex}"
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "CONTENT_ROOT": str(REPO),
            "CERT_KEYS_DIR": str(tmp_path / "keys"),
            "SANDBOX_BACKEND": "docker",
            "CELERY": {"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        }
    )
    import certplatform.tasks  # noqa: F401  (the worker needs the tasks registered)

    with app.app_context():
        db.create_all()
        sync_content(REPO)
        certificates.issuing.keystore().init()
        user = make_user(email="candidate@example.com")
        complete_course(user, db.session.scalar(sa.select(Course).where(Course.level == CertLevel.L2)))
        mentor = make_user(Role.MENTOR, email="mentor@example.com", name="Chen Jing")
        l1 = attempts.live_exam("l1-operator-dev")
        l1_attempt = passed_attempt(user, l1)
        review.decide(mentor, review.claim(mentor, l1_attempt), ReviewDecision.APPROVE, full_scores(l1), "Good L1.")
        assert certificates.issuing.certified_levels(user) == {"L1"}
    with (
        serving(app) as base,
        start_worker(
            app.extensions["celery"], pool="solo", queues=[queue], perform_ping_check=False, loglevel="WARNING"
        ),
    ):
        yield base


def _login(page, base: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#email", "candidate@example.com")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def test_an_l1_holder_takes_the_l2_exam_in_the_browser(l2_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; scripts/test installs it", pytrace=False)
    shots = Path(os.environ.get("CERTPLATFORM_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(locale="en-US").new_page()
        _login(page, l2_server)
        page.goto(f"{l2_server}/exams/")
        expect(page.locator("main")).to_contain_text("L2 Cross-Chip Adaptation Practical Exam")
        page.goto(f"{l2_server}/exams/l2-cross-chip/")
        page.click("text=Start the exam")
        attempt_url = page.url
        for task in TASKS:
            page.goto(f"{attempt_url}{task}/")
            expect(page.locator("main")).to_contain_text("The launch rules")
            fill_editor(page, (EXAM / "tasks" / task / "solution.py").read_text())
            page.click("text=Submit for grading")
            submission = page.locator(".submission").first
            expect(submission.locator('[data-field="status"]')).to_have_text("passed", timeout=240_000)
            expect(submission).to_contain_text("hidden ")
        page.goto(f"{attempt_url}portable_softmax/")
        page.screenshot(path=str(shots / "l2-task-graded-en.png"), full_page=True)
        page.goto(attempt_url)
        page.once("dialog", lambda d: d.accept())  # the "Hand in now?" question
        page.click("text=Hand in now")
        expect(page.locator("#attempt-status")).to_have_text("passed: awaiting mentor review")
        expect(page.locator(".stat-value")).to_have_text("100.0%")
        page.screenshot(path=str(shots / "l2-attempt-graded-en.png"), full_page=True)

        phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        _login(phone, l2_server)
        phone.goto(f"{attempt_url}gather_rows/")
        expect(phone.locator("main")).to_contain_text("启动规则")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the task page scrolls sideways on a phone ({width}px)"
        phone.screenshot(path=str(shots / "l2-task-zh-phone.png"), full_page=True)
        phone.goto(attempt_url)
        expect(phone.locator("main")).to_contain_text("100.0%")
        phone.screenshot(path=str(shots / "l2-attempt-zh-phone.png"), full_page=True)
        browser.close()
