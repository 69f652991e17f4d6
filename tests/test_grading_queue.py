"""Fair grading: each candidate's line, superseded submissions, the candidate's rate limit, the queue position.

Messages go to a real Redis queue of the test's own that no worker consumes, so what reached the broker can be
counted there; a grading's end is played by storing its result, as the worker does.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import Locale, Submission, SubmissionStatus
from certplatform.models.types import utcnow
from certplatform.sandbox.results import GradeResult
from certplatform.services import attempts, grading, grading_queue, outbox
from tests import services
from tests.conftest import post_form
from tests.exam_fixtures import complete_course, source
from tests.factories import make_user

pytestmark = pytest.mark.redis
QUEUE = f"fair-{uuid.uuid4().hex}"


@pytest.fixture
def app_config():
    services.need(services.redis_problem())
    return {
        "GRADING_INFLIGHT_PER_CANDIDATE": 1,
        "CANDIDATE_SUBMIT_RATE_LIMIT": "100 per minute",
        "CELERY": {"broker_url": services.REDIS_URL, "task_always_eager": False, "task_default_queue": QUEUE},
    }


@pytest.fixture
def broker_queue():
    """How many grading messages wait at the broker (the queue holds the similarity comparisons too)."""
    client = redis.Redis.from_url(services.REDIS_URL)
    client.delete(QUEUE)

    def gradings() -> int:
        messages = [json.loads(raw) for raw in client.lrange(QUEUE, 0, -1)]
        return sum(1 for m in messages if m["headers"]["task"] == "certplatform.grade_submission")

    yield gradings
    client.delete(QUEUE)


def _candidate(exam, email: str):
    user = make_user(email=email)
    complete_course(user)
    return user, attempts.start(user, exam)


def _submit(user, attempt, slug: str, code: str | None = None) -> Submission:
    task = next(t for t in attempts.live_tasks(attempt.exam) if t.slug == slug)
    return grading.submit(user, attempt, task, code or source(slug)).submission


def _finish(submission: Submission, seconds: float = 4.0) -> None:
    """What a worker does: claim it, grade it (here: a result after `seconds`), store the result."""
    assert grading.claim(submission.id)
    db.session.refresh(submission)
    submission.started_at = utcnow() - timedelta(seconds=seconds)
    grading.store(submission, GradeResult(status="passed", score=1.0, duration_s=seconds))
    outbox.flush()


def test_a_candidate_has_one_grading_in_flight_and_the_rest_wait_in_their_own_line(app, exam, broker_queue) -> None:
    flooder, flood_attempt = _candidate(exam, "flood@example.com")
    single, single_attempt = _candidate(exam, "single@example.com")
    flood = [_submit(flooder, flood_attempt, slug) for slug in ("vector_add", "softmax", "gelu")]
    assert [s.dispatched_at is not None for s in flood] == [True, False, False]
    assert broker_queue() == 1
    alone = _submit(single, single_attempt, "vector_add")
    assert alone.dispatched_at is not None and broker_queue() == 2
    # The single submission is next after the one of the flood that went first; the flood's others wait.
    assert grading_queue.place(alone).position == 2
    assert [grading_queue.place(s).position for s in flood] == [1, 3, 4]

    _finish(flood[0])
    db.session.expire_all()
    assert db.session.get(Submission, flood[1].id).dispatched_at is not None
    assert db.session.get(Submission, flood[2].id).dispatched_at is None
    assert broker_queue() == 3
    assert grading_queue.place(db.session.get(Submission, alone.id)).position == 1


def test_the_sweeper_releases_a_line_whose_release_was_lost(app, exam, broker_queue) -> None:
    user, attempt = _candidate(exam, "flood@example.com")
    first, second = _submit(user, attempt, "vector_add"), _submit(user, attempt, "softmax")
    # The first ends without releasing the next (a worker that died between the two commits).
    db.session.execute(
        sa.update(Submission).where(Submission.id == first.id).values(status=SubmissionStatus.PASSED, score=1.0)
    )
    db.session.commit()
    assert db.session.get(Submission, second.id).dispatched_at is None
    grading.sweep()
    db.session.expire_all()
    assert db.session.get(Submission, second.id).dispatched_at is not None and broker_queue() == 2


def test_a_newer_submission_supersedes_the_queued_older_one(app, exam, client, broker_queue) -> None:
    user, attempt = _candidate(exam, "flood@example.com")
    running = _submit(user, attempt, "vector_add")
    assert grading.claim(running.id)
    older = _submit(user, attempt, "softmax", source("softmax", "starter.py"))
    newer = _submit(user, attempt, "softmax")
    _submit(user, attempt, "vector_add")  # the running one is not superseded
    db.session.expire_all()
    assert db.session.get(Submission, running.id).status is SubmissionStatus.RUNNING
    replaced = db.session.get(Submission, older.id)
    assert replaced.status is SubmissionStatus.SUPERSEDED and replaced.status.final
    assert replaced.finished_at is not None and not replaced.status.counts
    assert attempts.counted_submissions(attempt, replaced.task) == 2  # it used one of the task's submissions
    assert db.session.get(Submission, newer.id).status is SubmissionStatus.QUEUED

    # Its message, should it arrive anyway, grades nothing.
    assert grading.grade(older.id) is None
    assert db.session.get(Submission, older.id).status is SubmissionStatus.SUPERSEDED

    assert post_form(client, "/auth/login", {"email": user.email, "password": "Correct-Horse-42"}).status_code == 302
    page = client.get(f"/exams/{exam.slug}/attempts/{attempt.id}/softmax/").get_data(as_text=True)
    assert "replaced by a newer submission" in page
    assert "A newer submission of this task replaced this one before its grading started." in page
    status = client.get(f"/exams/{exam.slug}/attempts/{attempt.id}/submissions/{newer.id}").get_json()
    assert status["queue"].startswith("Position 1 in the grading queue")


def test_the_page_shows_the_position_and_an_estimate_from_recent_gradings(app, exam, client, broker_queue) -> None:
    other, other_attempt = _candidate(exam, "other@example.com")
    earlier = _submit(other, other_attempt, "vector_add")
    _finish(earlier, seconds=20)
    waiting = _submit(other, other_attempt, "softmax")
    user, attempt = _candidate(exam, "single@example.com")
    mine = _submit(user, attempt, "vector_add")
    assert grading_queue.place(mine).position == 2
    assert grading_queue.place(mine).estimate_s == pytest.approx(40, abs=1)  # two gradings of about 20 s

    assert post_form(client, "/auth/login", {"email": user.email, "password": "Correct-Horse-42"}).status_code == 302
    page = client.get(f"/exams/{exam.slug}/attempts/{attempt.id}/vector_add/").get_data(as_text=True)
    assert "Position 2 in the grading queue: result in about 40 s." in page
    user.locale = Locale.ZH_CN
    db.session.commit()
    status = client.get(f"/exams/{exam.slug}/attempts/{attempt.id}/submissions/{mine.id}").get_json()
    assert status["queue"] == "排队第 2 位：约 40 秒后出结果。"
    _finish(db.session.get(Submission, waiting.id), seconds=20)
    status = client.get(f"/exams/{exam.slug}/attempts/{attempt.id}/submissions/{mine.id}").get_json()
    assert status["queue"] == "排队第 1 位：约 20 秒后出结果。"


def test_a_candidate_who_submits_too_often_is_told_when_to_try_again(app, exam, client, broker_queue) -> None:
    app.config["CANDIDATE_SUBMIT_RATE_LIMIT"] = "3 per minute"
    user, attempt = _candidate(exam, "flood@example.com")
    assert post_form(client, "/auth/login", {"email": user.email, "password": "Correct-Horse-42"}).status_code == 302
    page = f"/exams/{exam.slug}/attempts/{attempt.id}/vector_add/"
    for _ in range(3):
        assert post_form(client, page, {"code": source("vector_add")}).status_code == 302
    refused = post_form(client, page, {"code": source("vector_add")})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "You are submitting too often: at most 3 submissions per minute. You can submit again in" in text
    assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 3
    user.locale = Locale.ZH_CN
    db.session.commit()
    assert "提交过于频繁：每分钟最多提交 3 次。" in post_form(client, page, {"code": "x = 1"}).get_data(as_text=True)
