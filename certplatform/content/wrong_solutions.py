"""A task's wrong solutions (`tasks/<task>/wrong/*.py`): each is caught by one check of the grader, and says which
near its top with `# expect: <status> <text>`, where text is part of the verdict a candidate sees. The content
check here only reads them; the container test (tests/test_docker_wrong_solutions.py) grades them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from certplatform.content.tree import ContentError
from certplatform.sandbox.results import STATUSES

PREFIX = "# expect: "
HEAD_LINES = 10  # the line sits under the docstring, where a reader looks first
# What a wrong solution may end as: anything the grader gives, but a pass (or no grade at all).
WRONG_STATUSES = tuple(sorted(STATUSES - {"passed", "not_gradable"}))
FOLDER = "wrong"


class ExpectationError(ValueError):
    """A wrong solution without a well-formed `# expect:` line; `line` is where the problem is, if known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Expectation:
    status: str
    text: str

    def met_by(self, status: str, verdicts: list[str]) -> bool:
        """The grade ended as expected and one of its verdicts (the message, a failed test's) names the check."""
        return status == self.status and any(self.text in v for v in verdicts)


def parse_expectation(source: str) -> Expectation:
    """The `# expect: <status> <text>` line among the first HEAD_LINES lines of a wrong solution."""
    for number, line in enumerate(source.splitlines()[:HEAD_LINES], start=1):
        if not line.startswith(PREFIX.rstrip()):
            continue
        status, _, text = line.removeprefix(PREFIX.rstrip()).strip().partition(" ")
        if status not in WRONG_STATUSES:
            raise ExpectationError(
                f"expected status {status!r} is not one a wrong solution can get; use one of "
                f"{', '.join(WRONG_STATUSES)}",
                number,
            )
        if not text.strip():
            raise ExpectationError("the expect line names no text: give part of the verdict the check writes", number)
        return Expectation(status, text.strip())
    raise ExpectationError(
        f"no '{PREFIX}<status> <text>' line in the first {HEAD_LINES} lines: say which check catches it"
    )


def wrong_files(task_folder: Path) -> list[Path]:
    """A task's wrong solutions, in name order."""
    return sorted((task_folder / FOLDER).glob("*.py"))


def check_wrong_folder(folder: Path, rel) -> list[ContentError]:
    """The content rule for a task whose kind proves its checks (`TaskKind.wrong_solutions`): a non-empty wrong/
    whose every file is a Python submission with a well-formed expect line. `rel` makes a path repo-relative."""
    wrong = folder / FOLDER
    files = sorted(p for p in wrong.iterdir() if p.is_file() and not p.name.startswith(".")) if wrong.is_dir() else []
    if not files:
        return [
            ContentError(
                f"{rel(wrong)}/",
                None,
                "missing wrong solutions: a task of this kind needs at least one wrong/*.py, each caught by one "
                f"check of the grader and saying which near its top ('{PREFIX}<status> <text>')",
            )
        ]
    errors = []
    for path in files:
        if path.suffix != ".py":
            errors.append(ContentError(rel(path), None, "not a .py file: wrong/ holds submissions, one per check"))
            continue
        try:
            parse_expectation(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ContentError(rel(path), None, f"cannot read: {exc}"))
        except ExpectationError as exc:
            errors.append(ContentError(rel(path), exc.line, str(exc)))
    return errors
