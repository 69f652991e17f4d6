"""Grading knowledge-check quizzes on the server. Correct answers leave the server only after a submission."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from certplatform.extensions import db
from certplatform.models import QuestionKind, Quiz, QuizAttempt, QuizQuestion, User

MAX_ANSWER_LENGTH = 64


def field_name(question: QuizQuestion) -> str:
    return f"q-{question.uuid}"


def live_questions(quiz: Quiz) -> list[QuizQuestion]:
    return [q for q in quiz.questions if q.deleted_at is None]


def parse_number(raw: str) -> float | None:
    """A number as a learner may type it: full-width digits, spaces and '_' allowed; None if not a number."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(" ", "").replace("_", "")
    if not text or len(text) > MAX_ANSWER_LENGTH:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_answers(quiz: Quiz, form: MultiDict) -> dict[str, Any]:
    """What the learner answered, keyed by question UUID; unknown option ids are dropped."""
    answers: dict[str, Any] = {}
    for q in live_questions(quiz):
        ids = {o["id"] for o in q.options}
        name = field_name(q)
        if q.kind == QuestionKind.SINGLE:
            value = form.get(name, "")
            answers[str(q.uuid)] = value if value in ids else None
        elif q.kind == QuestionKind.MULTIPLE:
            answers[str(q.uuid)] = sorted({v for v in form.getlist(name) if v in ids})
        else:
            answers[str(q.uuid)] = form.get(name, "")[:MAX_ANSWER_LENGTH]
    return answers


def is_correct(question: QuizQuestion, given: Any) -> bool:
    if question.kind == QuestionKind.SINGLE:
        return given is not None and given == question.answer
    if question.kind == QuestionKind.MULTIPLE:
        return isinstance(given, list) and set(given) == set(question.answer)
    number = parse_number(given or "")
    if number is None:
        return False
    expected, tolerance = float(question.answer["value"]), float(question.answer.get("tolerance", 0))
    return abs(number - expected) <= tolerance + 1e-9 * max(1.0, abs(expected))


@dataclass(frozen=True)
class Grade:
    score: float
    passed: bool
    results: dict[str, bool]


def grade(quiz: Quiz, answers: dict[str, Any]) -> Grade:
    questions = live_questions(quiz)
    results = {str(q.uuid): is_correct(q, answers.get(str(q.uuid))) for q in questions}
    score = sum(results.values()) / len(questions) if questions else 0.0
    return Grade(score=score, passed=score >= quiz.module.pass_threshold, results=results)


def submit(user: User, quiz: Quiz, form: MultiDict, content_version: str) -> QuizAttempt:
    answers = read_answers(quiz, form)
    result = grade(quiz, answers)
    attempt = QuizAttempt(
        user_id=user.id,
        quiz_id=quiz.id,
        score=result.score,
        passed=result.passed,
        answers=answers,
        results=result.results,
        content_version=content_version,
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


def attempts(user: User, quiz: Quiz) -> list[QuizAttempt]:
    return list(
        db.session.scalars(
            sa.select(QuizAttempt)
            .where(QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id)
            .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
        )
    )
