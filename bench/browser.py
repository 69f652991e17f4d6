"""What a candidate sees: from the click on "Submit for grading" to the grade on the page, in a real browser.

The platform as `scripts/run` starts it for one candidate on an idle host: the web app (served on loopback), the
outbox and Redis, one Celery worker grading in pooled Docker containers (SANDBOX_POOL_SIZE, default 2 here),
PostgreSQL. Chromium signs in, starts the L1 exam and submits each task's reference solution, once the worker's
pool is warm, as in bench/grading.py's pipeline latency. The page learns of the grade by polling
(static/js/exam.js), so this includes what the polling adds.

Last line: `ratio shown/compute = X`, the median over the tasks and rounds of (click to the grade shown) over the
tests' compute_s.

    SANDBOX_POOL_SIZE=2 .venv/bin/python bench/browser.py [--rounds 2] [--redis-url redis://127.0.0.1:6379/4]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from pipeline import pipeline  # noqa: E402

TASKS = ("vector_add", "gelu", "softmax", "rms_norm", "matmul")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    args = parser.parse_args()
    os.environ.setdefault("SANDBOX_POOL_SIZE", "2")
    pool_size = int(os.environ["SANDBOX_POOL_SIZE"])

    import sqlalchemy as sa
    from playwright.sync_api import expect, sync_playwright

    from certplatform.extensions import db
    from certplatform.models import Submission
    from tests.conftest import serving
    from tests.editor_page import fill_editor
    from tests.exam_fixtures import complete_course, source
    from tests.factories import PASSWORD, make_user
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's line per request
    env = {key: value for key, value in os.environ.items() if key.startswith("SANDBOX_")}
    ratios = []
    with pipeline(args.redis_url, env) as line:
        line.wait_ready(line.workers[0])
        with line.app.app_context():
            email = f"browser-{os.getpid()}@example.com"
            complete_course(make_user(email=email))
        with serving(line.app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(locale="en-US").new_page()
            page.goto(f"{base}/auth/login")
            page.fill("#email", email)
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.goto(f"{base}/exams/l1-exam/")
            page.click("text=Start the exam")
            attempt_url = page.url
            print(f"each submission once the worker's pool holds {pool_size} warm containers")
            for round_ in range(args.rounds + 1):  # the first round warms the worker and the page; not counted
                for task in TASKS:
                    page.goto(f"{attempt_url}{task}/")
                    fill_editor(page, source(task))
                    line.settle_pool(pool_size)
                    clicked = time.monotonic()
                    page.click("text=Submit for grading")
                    status = page.locator(".submission").first.locator('[data-field="status"]')
                    expect(status).to_have_text("passed", timeout=120_000)
                    shown = time.monotonic() - clicked
                    with line.app.app_context():
                        row = db.session.scalars(sa.select(Submission).order_by(Submission.id.desc())).first()
                        compute, stored = row.compute_s, (row.finished_at - row.created_at).total_seconds()
                    if round_ == 0:
                        continue
                    ratios.append(shown / compute)
                    print(
                        f"{task:<10} click to shown {shown:6.2f} s, submission to stored {stored:6.2f} s, "
                        f"compute {compute:6.3f} s, ratio {ratios[-1]:6.2f}"
                    )
            browser.close()
    print(f"ratio shown/compute = {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
