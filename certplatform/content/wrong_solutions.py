"""A task's wrong solutions (`tasks/<task>/wrong/*<suffix>`, the suffix of its kind's submissions): each is caught
by one check of the grader, and says which near its top with an expect line naming `<status> <text>`, where text
is part of the verdict a candidate sees. The content check here only reads them; the container test
(tests/test_docker_wrong_solutions.py) grades them, on the text `read_wrong` gives.

The line's form follows the file's language:

- Python: `# expect: <status> <text>` among the first HEAD_LINES lines, under the docstring where a reader looks
  first; a comment, so the file is graded as it stands.
- Markdown: `[//]: # (expect: <status> <text>)` as the first line. CommonMark reads it as an unused link reference
  definition and shows nothing (an HTML comment would be escaped and shown: documents are rendered with raw HTML
  off), and `read_wrong` takes it off with the blank lines under it, so the grader reads exactly the document a
  candidate would have submitted: the line can change no check (a `#` line would be a heading to the grader)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from certplatform.content.tree import ContentError
from certplatform.sandbox.results import STATUSES

PREFIX = "# expect: "
HEAD_LINES = 10  # the line sits under the docstring, where a reader looks first
MD_FORM = "[//]: # (expect: <status> <text>)"
_MD_START = "[//]: # (expect:"
_MD_LINE = re.compile(r"^\[//\]: # \(expect:(?P<body>[^()]*)\)[ \t]*$")
# What a wrong solution may end as: anything the grader gives, but a pass (or no grade at all).
WRONG_STATUSES = tuple(sorted(STATUSES - {"passed", "not_gradable"}))
FOLDER = "wrong"


class ExpectationError(ValueError):
    """A wrong solution without a well-formed expect line; `line` is where the problem is, if known."""

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


def _expectation(body: str, number: int) -> Expectation:
    """`<status> <text>` as an expect line gives them."""
    status, _, text = body.strip().partition(" ")
    if status not in WRONG_STATUSES:
        raise ExpectationError(
            f"expected status {status!r} is not one a wrong solution can get; use one of {', '.join(WRONG_STATUSES)}",
            number,
        )
    if not text.strip():
        raise ExpectationError("the expect line names no text: give part of the verdict the check writes", number)
    return Expectation(status, text.strip())


def _markdown_expectation(source: str) -> Expectation:
    lines = source.splitlines()[:HEAD_LINES]
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_MD_START):
            continue
        if number > 1:
            raise ExpectationError(
                "the expect line must be the first line: the document is graded from the line after it", number
            )
        match = _MD_LINE.match(line)
        if match is None:
            raise ExpectationError(
                f"write the expect line as '{MD_FORM}', its text without parentheses (CommonMark would show it)",
                number,
            )
        return _expectation(match["body"], number)
    raise ExpectationError(f"no '{MD_FORM}' first line: say which check catches it")


def parse_expectation(source: str, suffix: str = ".py") -> Expectation:
    """The expect line of a wrong solution whose file ends in `suffix` (".py" or ".md")."""
    if suffix == ".md":
        return _markdown_expectation(source)
    for number, line in enumerate(source.splitlines()[:HEAD_LINES], start=1):
        if line.startswith(PREFIX.rstrip()):
            return _expectation(line.removeprefix(PREFIX.rstrip()), number)
    raise ExpectationError(
        f"no '{PREFIX}<status> <text>' line in the first {HEAD_LINES} lines: say which check catches it"
    )


def read_wrong(path: Path) -> tuple[Expectation, str]:
    """A wrong solution's expectation and the submission to grade: a Python file as it stands, a Markdown document
    without its expect line (and the blank lines under it)."""
    source = path.read_text(encoding="utf-8")
    expected = parse_expectation(source, path.suffix)
    if path.suffix == ".md":
        source = source.split("\n", 1)[1].lstrip("\r\n") if "\n" in source else ""
    return expected, source


def wrong_files(task_folder: Path, suffix: str = ".py") -> list[Path]:
    """A task's wrong solutions, in name order."""
    return sorted((task_folder / FOLDER).glob(f"*{suffix}"))


def check_wrong_folder(folder: Path, rel, suffix: str = ".py") -> list[ContentError]:
    """The content rule for a task whose kind proves its checks (`TaskKind.wrong_solutions`): a non-empty wrong/
    whose every file is a submission of the kind (`suffix`) with a well-formed expect line. `rel` makes a path
    repo-relative."""
    wrong = folder / FOLDER
    files = sorted(p for p in wrong.iterdir() if p.is_file() and not p.name.startswith(".")) if wrong.is_dir() else []
    form = MD_FORM if suffix == ".md" else f"{PREFIX}<status> <text>"
    if not files:
        return [
            ContentError(
                f"{rel(wrong)}/",
                None,
                f"missing wrong solutions: a task of this kind needs at least one wrong/*{suffix}, each caught by one "
                f"check of the grader and saying which near its top ('{form}')",
            )
        ]
    errors = []
    for path in files:
        if path.suffix != suffix:
            errors.append(
                ContentError(rel(path), None, f"not a {suffix} file: wrong/ holds submissions, one per check")
            )
            continue
        try:
            parse_expectation(path.read_text(encoding="utf-8"), suffix)
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ContentError(rel(path), None, f"cannot read: {exc}"))
        except ExpectationError as exc:
            errors.append(ContentError(rel(path), exc.line, str(exc)))
    return errors
