"""What a mentor's decision form says, checked: rubric scores against the exam's rubric and line comments
against the attempt's tasks. Nothing here touches the database; services.review records the result."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from certplatform.models import Exam

MAX_COMMENT = 10_000
MAX_LINE_COMMENTS = 200


class ReviewError(ValueError):
    """A review action that is not allowed; the message is safe to show."""


def check_scores(exam: Exam, scores: dict[str, Any]) -> dict[str, int]:
    """Every rubric criterion scored with one of its levels' points."""
    clean: dict[str, int] = {}
    for criterion in exam.rubric:
        raw = scores.get(criterion["id"])
        allowed = {level["points"] for level in criterion["levels"]}
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = None
        if value not in allowed:
            raise ReviewError(_("Score every criterion of the rubric."))
        clean[criterion["id"]] = value
    return clean


SCORE_FIELD = "score-"
LINE_COMMENT = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*:\s*(\d+)\s*:\s*(.+)$")


def form_scores(form: Mapping[str, str]) -> dict[str, str]:
    """The rubric answers of a decision form: criterion id -> the points chosen, from its score-<criterion> radios."""
    return {key[len(SCORE_FIELD) :]: value for key, value in form.items() if key.startswith(SCORE_FIELD)}


def parse_line_comments(text: str | None) -> list[dict[str, Any]]:
    """Line comments written one per line as `task:line: text` (clicking a line of code writes the same)."""
    comments = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        match = LINE_COMMENT.match(raw)
        if not match:
            raise ReviewError(_("Write each line comment as task:line: text."))
        comments.append({"task": match.group(1), "line": int(match.group(2)), "text": match.group(3)})
    return comments


def check_line_comments(exam: Exam, comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tasks = {t.slug for t in exam.tasks if t.live}
    clean = []
    for c in comments[: MAX_LINE_COMMENTS + 1]:
        text = str(c.get("text", "")).strip()
        if not text:
            continue
        try:
            line = int(c.get("line"))
        except (TypeError, ValueError):
            raise ReviewError(_("A line comment needs a line number.")) from None
        if c.get("task") not in tasks or line < 1:
            raise ReviewError(_("A line comment must point at a line of a submitted task."))
        clean.append({"task": c["task"], "line": line, "text": text[:2000]})
    if len(clean) > MAX_LINE_COMMENTS:
        raise ReviewError(_("Too many line comments."))
    return clean
