"""A content root with the real L3 course and exam, plus a tiny L2 course and exam (a copy of the L1 exam at level
L2) so that a candidate can hold the real L2 certificate the L3 exam requires."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import Course, Exam, ReviewDecision, User
from certplatform.services import review
from tests.content.minimal_tree import write_minimal_tree
from tests.exam_fixtures import REPO, complete_course
from tests.review_fixtures import full_scores, passed_attempt

L3_TASK_DIR = REPO / "exams" / "l3-architect" / "tasks"


def write_l3_root(root: Path) -> Path:
    write_minimal_tree(root)
    (root / "courses" / "l1").rename(root / "courses" / "l2")
    course = root / "courses" / "l2" / "course.yaml"
    course.write_text(course.read_text().replace("level: L1", "level: L2").replace("exam: l1-exam", "exam: l2-exam"))
    shutil.copytree(
        REPO / "exams" / "l1-operator-dev", root / "exams" / "l2-exam", ignore=shutil.ignore_patterns("__pycache__")
    )
    exam = root / "exams" / "l2-exam" / "exam.yaml"
    text = exam.read_text().replace("level: L1", "level: L2")
    exam.write_text(text.replace(text.split("\n", 1)[0], "uuid: 00000000-0000-4000-8000-00000000a002"))
    shutil.copytree(REPO / "courses" / "l3", root / "courses" / "l3")
    shutil.copytree(
        REPO / "exams" / "l3-architect", root / "exams" / "l3-architect", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def sync_l3(root: Path) -> tuple[Exam, Exam]:
    sync_content(root)
    l2 = db.session.scalar(sa.select(Exam).where(Exam.slug == "l2-exam"))
    l3 = db.session.scalar(sa.select(Exam).where(Exam.slug == "l3-architect"))
    return l2, l3


def l3_candidate(user: User, l2_exam: Exam, l2_mentor: User) -> User:
    """`user` holds a real L2 certificate (approved by `l2_mentor`) and has completed the L3 course."""
    attempt = passed_attempt(user, l2_exam)
    review.decide(l2_mentor, review.claim(l2_mentor, attempt), ReviewDecision.APPROVE, full_scores(l2_exam), "")
    complete_course(user, db.session.scalar(sa.select(Course).where(Course.exam_slug == "l3-architect")))
    return user


def task_source(task: str, name: str) -> str:
    return (L3_TASK_DIR / task / name).read_text(encoding="utf-8")
