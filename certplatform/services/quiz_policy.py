"""A quiz's rules for one learner: which questions this attempt gets, whether they may try now, and when the
correct answers may be shown. All of it comes from the module's quiz.yaml."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AnswerReveal, Quiz, QuizAttempt, QuizDraw, QuizQuestion, User
from certplatform.models.types import utcnow
from certplatform.services.quizzes import attempts as attempts_of
from certplatform.services.quizzes import draw_questions, live_questions

_rng = random.SystemRandom()


@dataclass(frozen=True)
class Standing:
    """Where a learner stands with one quiz at one moment."""

    attempts: list[QuizAttempt]  # newest first
    passed: bool
    max_attempts: int | None
    used: int  # attempts used since the last cooldown
    locked_until: datetime | None
    revealed: frozenset[int]  # ids of the attempts whose answers and explanations may be shown

    @property
    def locked(self) -> bool:
        return self.locked_until is not None

    @property
    def remaining(self) -> int | None:
        return None if self.max_attempts is None else self.max_attempts - self.used

    @property
    def wait_minutes(self) -> int:
        """Whole minutes, rounded up, until the cooldown ends."""
        if self.locked_until is None:
            return 0
        return max(1, math.ceil((self.locked_until - utcnow()).total_seconds() / 60))

    def reveals(self, attempt: QuizAttempt) -> bool:
        return attempt.id in self.revealed


def standing(user: User, quiz: Quiz, now: datetime | None = None) -> Standing:
    """Attempts come in rounds of `max_attempts`; a full round without a pass locks the quiz for the cooldown and
    reveals that round's answers. Once passed there is no limit: the module is done and its answers are shown."""
    now = now or utcnow()
    newest_first = attempts_of(user, quiz)
    history = list(reversed(newest_first))
    passed = any(a.passed for a in history)
    limit = quiz.max_attempts
    used, locked_until = 0, None
    if limit is not None:
        used = len(history) % limit
        if not passed and history and used == 0:  # the last round is full
            until = history[-1].submitted_at + timedelta(minutes=quiz.cooldown_minutes or 0)
            if now < until:
                used, locked_until = limit, until
    if passed or quiz.reveal == AnswerReveal.AFTER_EACH_ATTEMPT:
        revealed = history
    elif limit is not None:
        revealed = history[: len(history) - len(history) % limit]  # the attempts of full rounds
    else:
        revealed = []
    return Standing(
        attempts=newest_first,
        passed=passed,
        max_attempts=limit,
        used=used,
        locked_until=locked_until,
        revealed=frozenset(a.id for a in revealed),
    )


def _open_key(user: User, quiz: Quiz) -> str:
    return f"{user.id}:{quiz.id}"


def _find_open(user: User, quiz: Quiz) -> QuizDraw | None:
    return db.session.scalar(sa.select(QuizDraw).where(QuizDraw.open_key == _open_key(user, quiz)))


def draw_size(quiz: Quiz) -> int:
    pool = len(live_questions(quiz))
    return min(quiz.draw_size or pool, pool)


def open_draw(user: User, quiz: Quiz) -> QuizDraw:
    """The questions of the learner's current attempt: drawn once from the pool, then the same on every reload."""
    draw = _find_open(user, quiz)
    live = {str(q.uuid) for q in live_questions(quiz)}
    size = draw_size(quiz)
    if draw is not None:
        if len(draw.question_uuids) == size and set(draw.question_uuids) <= live:
            return draw
        draw.open_key = None  # the pool changed under it: draw again
    picked = _rng.sample(sorted(live), size)
    draw = QuizDraw(user_id=user.id, quiz_id=quiz.id, question_uuids=picked, open_key=_open_key(user, quiz))
    db.session.add(draw)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # another request of the same learner drew at the same moment: use its draw
        db.session.rollback()
        existing = _find_open(user, quiz)
        if existing is None:
            raise
        return existing
    return draw


def questions(quiz: Quiz, draw: QuizDraw) -> list[QuizQuestion]:
    return draw_questions(quiz, draw.question_uuids)
