"""The dashboard's student table as pages and as CSV: filters, sorting, paging and a spreadsheet-safe export."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _

from certplatform.services.cohort_dashboard import (
    ACTIVE_DAYS,
    ATTEMPT_STATES,
    CERT_STATES,
    REVIEW_STATES,
    STAGE_ORDER,
    STAGES,
    Dashboard,
    QuizColumn,
    StudentRow,
)

PAGE_SIZE = 100
SORTS = ("name", "email", "student_id", "progress", "quizzes", "attempts", "stage", "last_active")


def select(
    dashboard: Dashboard, status: str = "", query: str = "", sort: str = "name", descending: bool = False
) -> list[StudentRow]:
    """The students matching the status filter and the search, in the chosen order."""
    rows = dashboard.students
    if status == "inactive":
        since = dashboard.now - timedelta(days=ACTIVE_DAYS)
        rows = [s for s in rows if not s.active_since(since)]
    elif status in STAGES:
        rows = [s for s in rows if s.stage == status]
    needle = query.strip().casefold()
    if needle:
        rows = [
            s
            for s in rows
            if needle in s.name.casefold()
            or needle in s.email
            or needle in (s.name_zh or "").casefold()
            or needle in (s.student_id or "").casefold()
        ]
    key = _SORT_KEYS.get(sort, _SORT_KEYS["name"])
    present = sorted((s for s in rows if key(s) is not None), key=key, reverse=descending)
    # Students without a value (no quiz taken, never active) come last in either direction.
    return present + sorted((s for s in rows if key(s) is None), key=_SORT_KEYS["name"])


_SORT_KEYS = {
    "name": lambda s: (s.name.casefold(), s.email),
    "email": lambda s: s.email,
    "student_id": lambda s: s.student_id,
    "progress": lambda s: s.progress,
    "quizzes": lambda s: s.quiz_mean,
    "attempts": lambda s: s.attempts,
    "stage": lambda s: STAGE_ORDER[s.stage],
    "last_active": lambda s: s.last_active,
}


@dataclass(frozen=True)
class Page:
    items: list[StudentRow]
    page: int
    pages: int
    total: int


def paginate(rows: list[StudentRow], page: int, size: int = PAGE_SIZE) -> Page:
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(page, 1), pages)
    return Page(rows[(page - 1) * size : page * size], page, pages, len(rows))


# --- export --------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _percent(value: float | None) -> object:
    return "" if value is None else round(100 * value)


def _quiz_header(quiz: QuizColumn, lang: str) -> str:
    title = quiz.title.get(lang) or quiz.title.get("en", "")
    return _("Quiz %(level)s/%(n)d: %(title)s (%%)", level=quiz.level, n=quiz.position + 1, title=title)


def export_csv(dashboard: Dashboard, rows: list[StudentRow], lang: str = "en") -> str:
    """The dashboard's rows as CSV (UTF-8 with a byte-order mark, so that spreadsheets read Chinese names)."""
    header = [
        _("Name"),
        _("Chinese name"),
        _("Email"),
        _("Student ID"),
        _("Enrolled"),
        _("Course progress (%)"),
        _("Quizzes passed"),
        _("Quizzes"),
        _("Mean best quiz score (%)"),
        *[_quiz_header(q, lang) for q in dashboard.quizzes],
        _("Exam attempts"),
        _("Latest exam status"),
        _("Passed the exam"),
        _("Review"),
        _("Certificates"),
        _("Last active"),
        _("Status"),
    ]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for s in rows:
        cells: list[object] = [
            s.name,
            s.name_zh or "",
            s.email,
            s.student_id or "",
            s.enrolled_at.date().isoformat(),
            "" if s.progress is None else s.progress,
            s.quizzes_passed,
            len(dashboard.quizzes),
            _percent(s.quiz_mean),
            *[_percent(s.quiz_best.get(q.quiz_id)) for q in dashboard.quizzes],
            s.attempts,
            str(ATTEMPT_STATES[s.latest_status]) if s.latest_status else "",
            _("yes") if s.passed_exam else _("no"),
            "" if s.review == "none" else str(REVIEW_STATES[s.review]),
            "; ".join(f"{c.id} ({CERT_STATES[c.status]})" for c in s.certificates),
            s.last_active.isoformat(timespec="minutes") if s.last_active else "",
            str(STAGES[s.stage]),
        ]
        writer.writerow([neutralise(c) for c in cells])
    return out.getvalue()
