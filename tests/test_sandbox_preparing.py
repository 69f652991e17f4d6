"""While the sandbox image is being built: /healthz and the exam pages show how far, and submissions wait queued
until it is ready, then are graded in the real sandbox."""

from __future__ import annotations

import uuid
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import Submission, SubmissionStatus
from certplatform.sandbox import build_status, images
from certplatform.sandbox.build_status import BuildStatus
from tests.conftest import post_form
from tests.exam_fixtures import REPO, source

TAG = "certplatform/sandbox-triton-cpu:being-built"


@pytest.fixture
def status_file(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "sandbox-build.json"


@pytest.fixture
def app_config(status_file: Path) -> dict[str, object]:
    return {"SANDBOX_BUILD_STATUS_FILE": str(status_file)}


def _building(path: Path, tag: str = TAG, percent: int = 40) -> BuildStatus:
    """This test's own process is the build: alive, so the status is under way."""
    status = build_status.started(path, tag, "triton-cpu")
    return build_status.write(path, replace(status, phase="docker build", percent=percent, detail="step 7 of 13: RUN"))


def _start(client) -> str:
    response = post_form(client, "/exams/l1-exam/start")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def test_healthz_shows_the_build_under_way_and_is_not_failing_for_it(client, status_file: Path) -> None:
    assert client.get("/healthz").json["sandbox_build"] is None
    _building(status_file)
    body = client.get("/healthz")
    assert body.status_code == 200 and body.json["status"] == "ok"
    assert body.json["sandbox"] == "preparing: 40% (docker build)"
    build = body.json["sandbox_build"]
    assert {k: build[k] for k in ("state", "phase", "percent", "tag")} == {
        "state": "building",
        "phase": "docker build",
        "percent": 40,
        "tag": TAG,
    }
    build_status.write(status_file, replace(build_status.read(status_file), state="ready", percent=100))
    done = client.get("/healthz").json
    assert done["sandbox_build"]["state"] == "ready" and not done["sandbox"].startswith("preparing")


def test_the_exam_pages_show_the_preparation_in_both_languages_until_it_is_ready(
    client, auth, candidate, status_file: Path
) -> None:
    auth.login(candidate.email)
    attempt_url = _start(client)
    pages = ["/exams/l1-exam/", attempt_url, attempt_url + "vector_add/"]
    for page in pages:
        assert "sandbox-banner" not in client.get(page).get_data(as_text=True)
    _building(status_file)
    for page in pages:
        en = client.get(page).get_data(as_text=True)
        assert "The grading sandbox is being prepared:" in en and "40%" in en, page
        zh = client.get(page, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert "评分沙箱正在准备中：" in zh and "40%" in zh and "沙箱就绪后立即评分" in zh, page
    build_status.write(status_file, replace(build_status.read(status_file), state="ready", percent=100))
    for page in pages:
        assert "sandbox-banner" not in client.get(page).get_data(as_text=True)


def test_a_dead_build_is_not_shown_as_under_way(client, auth, candidate, status_file: Path) -> None:
    auth.login(candidate.email)
    status = _building(status_file)
    build_status.write(status_file, replace(status, pid=2**22 + 1))  # above pid_max: no such process
    assert "sandbox-banner" not in client.get("/exams/l1-exam/").get_data(as_text=True)
    assert client.get("/healthz").json["sandbox_build"]["state"] == "failed"


@pytest.fixture
def engine_image() -> str:
    """The real sandbox image (scripts/test builds it; the tests using it are marked `docker`)."""
    import docker

    with closing(docker.from_env(timeout=600)) as client:
        return images.build_runtime_image(client, "triton-cpu", REPO)  # cached by content hash


@pytest.mark.docker
def test_a_submission_made_while_the_image_is_built_waits_queued_and_is_graded_once_it_is_ready(
    app, client, auth, candidate, runner, status_file: Path, engine_image: str
) -> None:
    import docker

    waiting_tag = f"certplatform/sandbox-triton-cpu:built-later-{uuid.uuid4().hex[:8]}"
    app.config.update(SANDBOX_BACKEND="docker", SANDBOX_IMAGES={"triton-cpu": waiting_tag})
    _building(status_file, waiting_tag, percent=62)
    auth.login(candidate.email)
    attempt_url = _start(client)
    page = post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")}, follow_redirects=True)
    assert "Grading starts as soon as the sandbox is ready." in page.get_data(as_text=True)
    submission = db.session.scalar(sa.select(Submission))
    assert submission.status is SubmissionStatus.QUEUED and submission.runs == 0  # not failed, not even started
    live = client.get(f"{attempt_url}submissions/{submission.id}").get_json()
    assert live["status"] == "queued" and not live["final"] and "waiting for the grading sandbox" in live["message"]
    zh = client.get(f"{attempt_url}submissions/{submission.id}", headers={"Accept-Language": "zh-CN"}).get_json()
    assert "正在等待评分沙箱" in zh["message"]

    repository, tag = waiting_tag.rsplit(":", 1)
    with closing(docker.from_env(timeout=60)) as engine:
        engine.images.get(engine_image).tag(repository, tag)  # the build's result appears under the awaited tag
        try:
            # The build command finds its image and sends what waited to grading (eagerly, in this process).
            result = runner.invoke(args=["sandbox", "build"])
            assert result.exit_code == 0, result.output
            assert f"{waiting_tag} ready" in result.output
            db.session.expire_all()
            graded = db.session.get(Submission, submission.id)
            assert graded.status is SubmissionStatus.PASSED and graded.score == 1.0, graded.message
            assert graded.backend == "docker" and graded.runs == 1
            assert build_status.read(status_file).state == "ready"
        finally:
            engine.images.remove(waiting_tag, noprune=True)  # only the extra tag: the image stays


def test_a_missing_image_that_a_build_made_since_the_last_report_is_not_failing(client, status_file: Path) -> None:
    from datetime import timedelta

    from certplatform.models import WorkerHeartbeat
    from certplatform.models.types import utcnow

    beat = WorkerHeartbeat(
        worker="celery@a", backend="docker", sandbox_status=f"error: image {TAG} missing", checked_at=utcnow()
    )
    db.session.add(beat)
    db.session.commit()
    assert client.get("/healthz").json["status"] == "failing: sandbox"
    beat.checked_at = utcnow() - timedelta(seconds=5)  # the worker looked before the build ended
    db.session.commit()
    build_status.write(status_file, BuildStatus("ready", TAG, "triton-cpu", phase="ready", percent=100))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["sandbox"] == "ok"
    other = BuildStatus("ready", "certplatform/sandbox-triton-cpu:other", "triton-cpu", phase="ready", percent=100)
    build_status.write(status_file, other)  # a build of another image says nothing about this one
    assert client.get("/healthz").json["status"] == "failing: sandbox"
