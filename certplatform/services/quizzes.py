"""Grading knowledge-check quizzes on the server. Correct answers leave the server only when the policy allows."""

from __future__ import annotations

import enum
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from certplatform.extensions import db
from certplatform.models import QuestionKind, Quiz, QuizAttempt, QuizDraw, QuizQuestion, User

MAX_ANSWER_LENGTH = 64
FIELD_PREFIX = "q-"


def field_name(question: QuizQuestion) -> str:
    return f"{FIELD_PREFIX}{question.uuid}"


def live_questions(quiz: Quiz) -> list[QuizQuestion]:
    return [q for q in quiz.questions if q.deleted_at is None]


def draw_questions(quiz: Quiz, uuids: list[str]) -> list[QuizQuestion]:
    """The questions named by `uuids`, in that order (soft-deleted ones too: an old attempt still shows them)."""
    by_uuid = {str(q.uuid): q for q in quiz.questions}
    return [by_uuid[u] for u in uuids if u in by_uuid]


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


class AnswerProblem(enum.StrEnum):
    MISSING = "missing"
    NOT_AN_OPTION = "not_an_option"
    NOT_A_NUMBER = "not_a_number"


@dataclass
class ReadAnswers:
    """What the learner sent for the questions of one draw, and what keeps it from being graded."""

    answers: dict[str, Any] = field(default_factory=dict)  # question uuid -> the answer as given
    problems: dict[str, AnswerProblem] = field(default_factory=dict)  # question uuid -> what is wrong
    foreign: list[str] = field(default_factory=list)  # answer fields for questions outside the draw

    @property
    def complete(self) -> bool:
        return not self.problems and not self.foreign


def _read_one(question: QuizQuestion, form: MultiDict) -> tuple[Any, AnswerProblem | None]:
    name, ids = field_name(question), {o["id"] for o in question.options}
    if question.kind == QuestionKind.MULTIPLE:
        values = form.getlist(name)
        chosen = sorted({v for v in values if v in ids})
        if len(chosen) != len(set(values)):
            return chosen, AnswerProblem.NOT_AN_OPTION
        return chosen, None if chosen else AnswerProblem.MISSING
    value = form.get(name, "")[:MAX_ANSWER_LENGTH]
    if not value.strip():
        return value, AnswerProblem.MISSING
    if question.kind == QuestionKind.SINGLE:
        return (value, None) if value in ids else (None, AnswerProblem.NOT_AN_OPTION)
    return value, None if parse_number(value) is not None else AnswerProblem.NOT_A_NUMBER


def read_answers(questions: list[QuizQuestion], form: MultiDict) -> ReadAnswers:
    """Every answer for `questions`, with a problem for each missing or malformed one and each foreign field."""
    result = ReadAnswers()
    for q in questions:
        value, problem = _read_one(q, form)
        result.answers[str(q.uuid)] = value
        if problem is not None:
            result.problems[str(q.uuid)] = problem
    own = {field_name(q) for q in questions}
    result.foreign = sorted(k for k in form if k.startswith(FIELD_PREFIX) and k not in own)
    return result


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


def grade(quiz: Quiz, questions: list[QuizQuestion], answers: dict[str, Any]) -> Grade:
    results = {str(q.uuid): is_correct(q, answers.get(str(q.uuid))) for q in questions}
    score = sum(results.values()) / len(questions) if questions else 0.0
    return Grade(score=score, passed=score >= quiz.module.pass_threshold, results=results)


def submit(user: User, quiz: Quiz, draw: QuizDraw, read: ReadAnswers, content_version: str) -> QuizAttempt | None:
    """Grade a complete set of answers for `draw` and close it; None if the draw was handed in meanwhile."""
    questions = draw_questions(quiz, draw.question_uuids)
    result = grade(quiz, questions, read.answers)
    attempt = QuizAttempt(
        user_id=user.id,
        quiz_id=quiz.id,
        score=result.score,
        passed=result.passed,
        answers=read.answers,
        results=result.results,
        content_version=content_version,
        draw_id=draw.id,
    )
    closed = db.session.execute(
        sa.update(QuizDraw).where(QuizDraw.id == draw.id, QuizDraw.open_key.is_not(None)).values(open_key=None)
    )
    if closed.rowcount != 1:  # a second tab or a double click handed this draw in first
        db.session.rollback()
        return None
    db.session.add(attempt)
    db.session.commit()
    return attempt


def attempts(user: User, quiz: Quiz) -> list[QuizAttempt]:
    """The user's attempts at `quiz`, newest first."""
    return list(
        db.session.scalars(
            sa.select(QuizAttempt)
            .where(QuizAttempt.user_id == user.id, QuizAttempt.quiz_id == quiz.id)
            .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
        )
    )


def attempt_questions(attempt: QuizAttempt) -> list[QuizQuestion]:
    """The questions an attempt was given, in the order shown (attempts before draws: the ones it answered)."""
    draw = db.session.get(QuizDraw, attempt.draw_id) if attempt.draw_id is not None else None
    return draw_questions(attempt.quiz, draw.question_uuids if draw else list(attempt.answers))
