"""The integrity report: which submissions resemble another candidate's submission of the same task.

Every submission of an attempt, rejected ones included, is compared with every submission of the same task made by
other candidates (services/similarity.py compares and remembers). A pair is flagged from the exam's threshold
(exam.yaml `review.similarity_threshold`, else SIMILARITY_THRESHOLD). Per other attempt only its closest submission
is listed, so ten resubmissions of one copy make one line.

Who the other candidate is stays private: a mentor sees only the other attempt's number (and both codes, which they
need to judge); administrators also see the name and the email address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, defer

from certplatform.config import similarity_settings
from certplatform.extensions import db
from certplatform.models import Exam, ExamAttempt, ExamTask, Role, Submission, User
from certplatform.services import similarity
from certplatform.services.similarity import Outcome


@dataclass(frozen=True)
class Match:
    """`submission` (of the attempt in question) and `other` (another candidate's), with the comparison."""

    task: ExamTask
    submission: Submission
    other: Submission
    outcome: Outcome

    @property
    def share(self) -> float:
        return self.outcome.share


@dataclass(frozen=True)
class TaskReport:
    task: ExamTask
    compared: int  # other candidates' submissions this task's submissions were compared with
    matches: tuple[Match, ...]  # at or above the threshold, closest first


@dataclass(frozen=True)
class AttemptReport:
    threshold: float
    tasks: tuple[TaskReport, ...]

    @property
    def flagged(self) -> int:
        return sum(len(t.matches) for t in self.tasks)


def threshold_for(exam: Exam) -> float:
    if exam.similarity_threshold is not None:
        return exam.similarity_threshold
    return similarity_settings(current_app.config)["SIMILARITY_THRESHOLD"]


def _tasks(exam: Exam) -> list[ExamTask]:
    return [t for t in exam.tasks if t.live]


def _submissions_of_task(task: ExamTask, *, except_user: int | None = None) -> list[Submission]:
    """The task's submissions with their attempt (code loaded only when a comparison needs it), oldest first."""
    stmt = (
        sa.select(Submission)
        .join(ExamAttempt, Submission.attempt_id == ExamAttempt.id)
        .where(Submission.task_id == task.id)
        .options(defer(Submission.code), contains_eager(Submission.attempt))
        .order_by(Submission.id)
    )
    if except_user is not None:
        stmt = stmt.where(ExamAttempt.user_id != except_user)
    return list(db.session.scalars(stmt))


def _code(submission: Submission) -> Callable[[], str]:
    return lambda: submission.code


def _compare(
    task: ExamTask, pairs: Iterable[tuple[Submission, Submission]]
) -> list[tuple[Submission, Submission, Outcome]]:
    pairs = list(pairs)
    found = similarity.outcomes(task, [(a.code_sha256, b.code_sha256, _code(a), _code(b)) for a, b in pairs])
    return [(a, b, found[a.code_sha256, b.code_sha256]) for a, b in pairs]


def _closest(matches: Iterable[Match], group: Callable[[Match], object]) -> tuple[Match, ...]:
    """The closest match of each group, closest first."""
    best: dict[object, Match] = {}
    for match in matches:
        current = best.get(group(match))
        if current is None or match.share > current.share:
            best[group(match)] = match
    return tuple(sorted(best.values(), key=lambda m: (-m.share, m.submission.id, m.other.id)))


def attempt_report(attempt: ExamAttempt, threshold: float | None = None) -> AttemptReport:
    """Per task of the attempt's exam, the other attempts whose submissions resemble one of this attempt's."""
    threshold = threshold_for(attempt.exam) if threshold is None else threshold
    tasks = []
    for task in _tasks(attempt.exam):
        mine = [s for s in attempt.submissions if s.task_id == task.id]
        others = _submissions_of_task(task, except_user=attempt.user_id) if mine else []
        compared = _compare(task, ((s, o) for s in mine for o in others))
        flagged = (Match(task, s, o, outcome) for s, o, outcome in compared if outcome.share >= threshold)
        tasks.append(TaskReport(task, len(others), _closest(flagged, lambda m: m.other.attempt_id)))
    return AttemptReport(threshold, tuple(tasks))


def compare_submission(submission_id: int) -> int:
    """Compare one submission with the other candidates' submissions of its task (after grading); how many."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        return 0
    others = _submissions_of_task(submission.task, except_user=submission.attempt.user_id)
    _compare(submission.task, ((submission, o) for o in others))
    return len(others)


def exam_report(exam: Exam, threshold: float | None = None) -> list[Match]:
    """Every pair of attempts by different candidates with resembling submissions of a task, closest first."""
    threshold = threshold_for(exam) if threshold is None else threshold
    report: list[Match] = []
    for task in _tasks(exam):
        submissions = _submissions_of_task(task)
        pairs = (
            (a, b)
            for i, a in enumerate(submissions)
            for b in submissions[i + 1 :]
            if a.attempt.user_id != b.attempt.user_id
        )
        flagged = (Match(task, a, b, outcome) for a, b, outcome in _compare(task, pairs) if outcome.share >= threshold)
        report.extend(_closest(flagged, lambda m: (m.submission.attempt_id, m.other.attempt_id)))
    return sorted(report, key=lambda m: (-m.share, m.task.position, m.submission.id, m.other.id))


@dataclass(frozen=True)
class OtherCandidate:
    """What `viewer` may know of the candidate behind another attempt: its number always, who it is for admins."""

    attempt_id: int
    name: str | None = None
    email: str | None = None


def other_candidate(viewer: User, attempt: ExamAttempt) -> OtherCandidate:
    if viewer.has_role(Role.ADMIN):
        return OtherCandidate(attempt.id, attempt.user.name_latin, attempt.user.email)
    return OtherCandidate(attempt.id)


@dataclass(frozen=True)
class Segment:
    text: str
    matched: bool


@dataclass(frozen=True)
class Line:
    number: int
    segments: tuple[Segment, ...]

    @property
    def matched(self) -> bool:
        return any(s.matched for s in self.segments)


def marked_lines(code: str, regions: Iterable[tuple[int, int]]) -> list[Line]:
    """The code's lines, cut into segments inside and outside the matching regions (character ranges)."""
    marks = bytearray(len(code))
    for start, end in regions:
        start, end = max(0, start), min(len(code), end)
        if end > start:
            marks[start:end] = b"\x01" * (end - start)
    lines = []
    offset = 0
    texts = code.split("\n")
    if len(texts) > 1 and texts[-1] == "":
        texts.pop()
    for number, text in enumerate(texts, start=1):
        segments = []
        i = 0
        while i < len(text):
            j = i
            while j < len(text) and marks[offset + j] == marks[offset + i]:
                j += 1
            segments.append(Segment(text[i:j], bool(marks[offset + i])))
            i = j
        lines.append(Line(number, tuple(segments)))
        offset += len(text) + 1
    return lines
