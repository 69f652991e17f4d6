"""A content root with the tiny course and a copy of the real L1 exam, and a student who finished the course."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Course, Exam, QuizAttempt, User
from certplatform.services import learning
from tests.content.minimal_tree import write_minimal_tree
from tests.factories import make_user

REPO = Path(__file__).resolve().parents[1]
REAL_EXAM = REPO / "exams" / "l1-operator-dev"
TASKS = REAL_EXAM / "tasks"


def write_exam_root(root: Path) -> Path:
    """The tiny course (its exam slug is l1-exam) with the real L1 exam under that name."""
    write_minimal_tree(root)
    shutil.copytree(REAL_EXAM, root / "exams" / "l1-exam", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def complete_course(user: User, course: Course | None = None) -> None:
    """Enrol `user` in `course` (default: the first one), read every lesson and pass every quiz."""
    course = course or db.session.scalar(sa.select(Course))
    learning.enroll(user, course)
    for module in learning.live_modules(course):
        for lesson in learning.live_lessons(module):
            learning.record_view(user, lesson)
        db.session.add(
            QuizAttempt(
                user_id=user.id,
                quiz_id=module.quiz.id,
                score=1.0,
                passed=True,
                answers={},
                results={},
                content_version="test",
            )
        )
    db.session.commit()


def source(task: str, name: str = "solution.py") -> str:
    return (TASKS / task / name).read_text(encoding="utf-8")


@pytest.fixture
def exam_root(tmp_path: Path) -> Path:
    return write_exam_root(tmp_path / "content")


@pytest.fixture
def exam(app, exam_root: Path) -> Exam:
    app.config["CONTENT_ROOT"] = str(exam_root)
    sync_content(exam_root)
    return db.session.scalar(sa.select(Exam))


@pytest.fixture
def candidate(exam) -> User:
    user = make_user(email="candidate@example.com")
    complete_course(user)
    return user
