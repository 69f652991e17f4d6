"""In a real browser: a candidate who finished the course takes the L1 exam, graded live in real containers."""

from __future__ import annotations

import uuid
from contextlib import closing
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from certplatform import create_app
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from tests import services
from tests.conftest import serving
from tests.editor_page import fill_editor
from tests.exam_fixtures import REPO, complete_course, source, write_exam_root
from tests.factories import PASSWORD, make_user
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]
TASKS = ("vector_add", "gelu", "softmax", "rms_norm", "matmul")


@pytest.fixture
def exam_server(tmp_path: Path):
    import docker

    from certplatform.sandbox import images

    with closing(docker.from_env(timeout=600)) as client:
        images.build_runtime_image(client, "triton-cpu", REPO)
    root = write_exam_root(tmp_path / "content")
    queue = f"browser-{uuid.uuid4().hex}"
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "CONTENT_ROOT": str(root),
            "SANDBOX_BACKEND": "docker",
            "CELERY": {"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        }
    )
    import certplatform.tasks  # noqa: F401  (the worker needs the tasks registered)

    with app.app_context():
        db.create_all()
        sync_content(root)
        user = make_user(email="candidate@example.com")
        complete_course(user)
    with (
        serving(app) as base,
        start_worker(
            app.extensions["celery"], pool="solo", queues=[queue], perform_ping_check=False, loglevel="WARNING"
        ),
    ):
        yield base


def test_a_candidate_takes_the_exam_and_watches_the_grading(exam_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; scripts/test installs it", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{exam_server}/auth/login")
        page.fill("#email", "candidate@example.com")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{exam_server}/exams/l1-exam/")
        page.click("text=Start the exam")
        attempt_url = page.url
        for task in TASKS:
            page.goto(f"{attempt_url}{task}/")
            fill_editor(page, source(task))
            page.click("text=Submit for grading")
            status = page.locator(".submission").first.locator('[data-field="status"]')
            # The page shows the live status, updated by polling until the container's grade arrives.
            expect(status).to_have_text("passed", timeout=120_000)
            expect(page.locator(".submission").first.locator("tr.test-pass").first).to_be_visible()
        page.goto(attempt_url)
        page.screenshot(path=str(tmp_path / "attempt-before-hand-in.png"), full_page=True)
        page.once("dialog", lambda d: d.accept())  # the "Hand in now?" question
        page.click("text=Hand in now")
        expect(page.locator("#attempt-status")).to_have_text("passed: awaiting mentor review")
        expect(page.locator(".stat-value")).to_have_text("100.0%")
        page.screenshot(path=str(tmp_path / "attempt-graded.png"), full_page=True)
        browser.close()
