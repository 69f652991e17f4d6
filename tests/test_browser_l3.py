"""In a real browser: an L2 holder who finished the L3 course takes l3-architect (graded live in real containers),
writes the design document in the editor, two mentors approve (one in English, one in Chinese), and the L3
certificate is issued and verifies; the candidate reads the decision on a phone, in Chinese."""

from __future__ import annotations

import uuid
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker

from certplatform import create_app
from certplatform.extensions import db
from certplatform.models import Role
from tests import services
from tests.conftest import serving
from tests.editor_page import fill_editor
from tests.exam_fixtures import REPO
from tests.factories import PASSWORD, make_user
from tests.l3_fixtures import l3_candidate, sync_l3, task_source, write_l3_root
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.redis]
CODE_TASKS = ("plan_training", "replan_after_failure", "plan_inference")
RUBRIC = ("tradeoff_argument", "cross_vendor_traffic", "failure_and_checkpoint", "monitoring", "cost")


@pytest.fixture
def l3_server(tmp_path: Path):
    import docker

    from certplatform.sandbox import images

    with closing(docker.from_env(timeout=600)) as client:
        images.build_runtime_image(client, "triton-cpu", REPO)
    root = write_l3_root(tmp_path / "content")
    queue = f"browser-l3-{uuid.uuid4().hex}"
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.sqlite'}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "CONTENT_ROOT": str(root),
            "CERT_KEYS_DIR": str(tmp_path / "keys"),
            "SANDBOX_BACKEND": "docker",
            "CELERY": {"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": queue},
        }
    )
    import certplatform.tasks  # noqa: F401  (the worker needs the tasks registered)

    with app.app_context():
        db.create_all()
        from certplatform.services.certificates.issuing import keystore

        keystore().init()
        l2_exam, _ = sync_l3(root)
        l2_mentor = make_user(Role.MENTOR, email="l2mentor@example.com", name="Zhao Min")
        l3_candidate(make_user(email="architect@example.com", name="Li Wei", name_zh="李伟"), l2_exam, l2_mentor)
        make_user(Role.MENTOR, email="mentor1@example.com", name="Chen Jing")
        make_user(Role.MENTOR, email="mentor2@example.com", name="Wang Lei")
    with (
        serving(app) as base,
        start_worker(
            app.extensions["celery"], pool="solo", queues=[queue], perform_ping_check=False, loglevel="WARNING"
        ),
    ):
        yield base, app


def _login(browser, base: str, email: str, locale: str, viewport=None):
    context = browser.new_context(locale=locale, **({"viewport": viewport} if viewport else {}))
    page = context.new_page()
    page.goto(f"{base}/auth/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    return page


def _review(page, base: str, comment: str, record: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/review/")
    page.click("form[action$='/claim'] button")
    expect(page.locator(".code-review h2", has_text="Trade-offs")).to_be_visible()
    expect(page.locator(".code-review").first).to_contain_text("plan_training")
    for criterion in RUBRIC:
        page.locator(f"input[name=score-{criterion}]").last.check()
    page.check("input[name=decision][value=approve]")
    page.fill("textarea#comment", comment)
    page.click(f"text={record}")


def test_an_l2_holder_becomes_an_l3_architect(l3_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = l3_server
    shots = tmp_path
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = _login(browser, base, "architect@example.com", "en-US")
        page.goto(f"{base}/exams/l3-architect/")
        page.click("text=Start the exam")
        attempt_url = page.url
        for task, text in (
            *((t, task_source(t, "solution.py")) for t in CODE_TASKS),
            ("design_doc", task_source("design_doc", "solution.md")),
        ):
            page.goto(f"{attempt_url}{task}/")
            fill_editor(page, text)
            page.click("text=Submit for grading")
            status = page.locator(".submission").first.locator('[data-field="status"]')
            expect(status).to_have_text("passed", timeout=180_000)
            page.screenshot(path=str(shots / f"task-{task}.png"), full_page=True)
        page.goto(attempt_url)
        page.once("dialog", lambda d: d.accept())  # the "Hand in now?" question
        page.click("text=Hand in now")
        expect(page.locator("#attempt-status")).to_have_text("passed: awaiting mentor review")
        expect(page.locator(".stat-value")).to_have_text("100.0%")
        page.screenshot(path=str(shots / "attempt-graded.png"), full_page=True)

        first = _login(browser, base, "mentor1@example.com", "en-US")
        _review(first, base, "A well-argued plan.", "Record the decision")
        expect(first.locator(".flash-success")).to_contain_text("Your decision is recorded")
        with app.app_context():
            from certplatform.models import Certificate

            assert db.session.scalar(sa.select(sa.func.count(Certificate.id)).where(Certificate.level == "L3")) == 0

        second = _login(browser, base, "mentor2@example.com", "zh-CN")
        _review(second, base, "论证充分。", "记录决定")
        expect(second.locator(".flash-success")).to_be_visible()
        second.screenshot(path=str(shots / "mentor2-zh.png"), full_page=True)
        with app.app_context():
            from certplatform.models import Certificate

            cert_id = db.session.scalar(sa.select(Certificate.id).where(Certificate.level == "L3"))
            attempt_id = db.session.scalar(sa.select(Certificate.attempt_id).where(Certificate.level == "L3"))
        assert cert_id

        employer = browser.new_context(locale="zh-CN").new_page()
        employer.goto(f"{base}/verify/")
        employer.fill("#certificate_id", cert_id.lower())
        employer.click("main form[method=get] button")
        expect(employer.locator(".verify-status")).to_contain_text("有效证书")
        expect(employer.locator("main")).to_contain_text("企业级训推架构师")
        employer.screenshot(path=str(shots / "employer-zh.png"), full_page=True)

        phone = _login(browser, base, "architect@example.com", "zh-CN", viewport={"width": 390, "height": 844})
        phone.goto(f"{base}/exams/l3-architect/attempts/{attempt_id}/")
        expect(phone.locator(".review-result").first).to_contain_text("已批准")
        phone.screenshot(path=str(shots / "candidate-phone-zh.png"), full_page=True)
        phone.goto(f"{base}/exams/l3-architect/attempts/{attempt_id}/design_doc/")
        phone.screenshot(path=str(shots / "design-doc-phone-zh.png"), full_page=True)
        browser.close()
