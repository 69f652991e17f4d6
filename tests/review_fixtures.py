"""A candidate's passed attempt waiting for review, mentors, and the signing keys, for the review stage tests."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from certplatform.extensions import db
from certplatform.models import AttemptStatus, ExamAttempt, Role, Submission, SubmissionStatus, User
from certplatform.models.types import utcnow
from certplatform.services import attempts
from tests.exam_fixtures import source
from tests.factories import make_org, make_user


def handed_in(user: User, exam, score: float = 0.95) -> ExamAttempt:
    """An attempt handed in an hour ago and waiting for review, without submissions."""
    now = utcnow()
    attempt = ExamAttempt(
        user_id=user.id,
        exam_id=exam.id,
        status=AttemptStatus.AWAITING_REVIEW,
        started_at=now - timedelta(hours=2),
        deadline_at=now + timedelta(hours=1),
        finished_at=now - timedelta(hours=1),
        score=score,
        content_version=exam.content_version,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def passed_attempt(user: User, exam, score: float = 0.95) -> ExamAttempt:
    """An attempt handed in and graded above the pass mark, with a graded submission per task."""
    attempt = handed_in(user, exam, score)
    for task in attempts.live_tasks(exam):
        code = source(task.slug)
        db.session.add(
            Submission(
                attempt_id=attempt.id,
                task_id=task.id,
                status=SubmissionStatus.PASSED,
                score=1.0,
                code=code,
                code_sha256=hashlib.sha256(code.encode()).hexdigest(),
                tests=[{"name": "fp32 (1000,)", "passed": True, "score": 1.0, "message": "ok"}],
            )
        )
    db.session.commit()
    return attempt


@pytest.fixture
def keys(app, tmp_path: Path):
    from certplatform.services.certificates.issuing import keystore

    app.config["CERT_KEYS_DIR"] = str(tmp_path / "keys")
    return keystore().init()


@pytest.fixture
def mentor(exam) -> User:
    return make_user(Role.MENTOR, email="mentor@example.com", name="Chen Jing")


@pytest.fixture
def second_mentor(exam) -> User:
    return make_user(Role.MENTOR, email="mentor2@example.com", name="Wang Lei")


@pytest.fixture
def awaiting(candidate, exam) -> ExamAttempt:
    return passed_attempt(candidate, exam)


@pytest.fixture
def cert(exam, awaiting, mentor, keys):
    """An issued L1 certificate: the awaiting attempt approved by the mentor."""
    import sqlalchemy as sa

    from certplatform.models import Certificate, ReviewDecision
    from certplatform.services import review

    review.decide(mentor, review.claim(mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "Well done.")
    return db.session.scalar(sa.select(Certificate))


RUBRIC_TOP = {
    "correctness_beyond_tests": 3,
    "masks_and_strides": 2,
    "numerical_stability": 2,
    "performance_awareness": 2,
    "code_clarity": 2,
}


def full_scores(exam) -> dict[str, int]:
    return {c["id"]: c["levels"][-1]["points"] for c in exam.rubric}


__all__ = [
    "RUBRIC_TOP",
    "awaiting",
    "cert",
    "full_scores",
    "keys",
    "make_org",
    "mentor",
    "passed_attempt",
    "second_mentor",
]
