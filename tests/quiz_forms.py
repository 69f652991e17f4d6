"""Taking a quiz as a browser would: open it (which draws the attempt's questions), then hand in answers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from certplatform.extensions import db
from certplatform.models import QuestionKind, Quiz, QuizDraw, QuizQuestion
from certplatform.services import quizzes
from tests.conftest import post_form


def open_draw(quiz: Quiz) -> QuizDraw:
    db.session.expire_all()
    draw = db.session.scalar(sa.select(QuizDraw).where(QuizDraw.quiz_id == quiz.id, QuizDraw.open_key.is_not(None)))
    assert draw is not None, "open the quiz page first"
    return draw


def drawn(client: FlaskClient, url: str, quiz: Quiz) -> tuple[QuizDraw, list[QuizQuestion]]:
    """GET the quiz page and return the attempt's draw and its questions in the order shown."""
    assert client.get(url).status_code == 200
    draw = open_draw(quiz)
    return draw, quizzes.draw_questions(quiz, draw.question_uuids)


def right_answer(question: QuizQuestion) -> Any:
    return f"{question.answer['value']:g}" if question.kind == QuestionKind.NUMERIC else question.answer


def wrong_answer(question: QuizQuestion) -> Any:
    if question.kind == QuestionKind.NUMERIC:
        return f"{question.answer['value'] + question.answer.get('tolerance', 0) + 1:g}"
    others = [o["id"] for o in question.options if o["id"] != question.answer and o["id"] not in question.answer]
    return others[0] if question.kind == QuestionKind.SINGLE else [*question.answer, *others[:1]]


def hand_in(client: FlaskClient, url: str, quiz: Quiz, right: int | None = None, extra: dict | None = None):
    """Open the quiz, answer the first `right` drawn questions correctly (all by default) and the rest wrongly."""
    draw, questions = drawn(client, url, quiz)
    right = len(questions) if right is None else right
    form: dict[str, Any] = {"draw": str(draw.id)}
    for i, q in enumerate(questions):
        form[quizzes.field_name(q)] = right_answer(q) if i < right else wrong_answer(q)
    return post_form(client, url, {**form, **(extra or {})})
