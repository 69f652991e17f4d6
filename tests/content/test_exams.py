"""Exam folders: exam.yaml against its schema, and every task with its prompts, starter, solution and tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from certplatform.content.loader import load_content
from certplatform.content.wrong_solutions import check_wrong_folder, read_wrong, wrong_files
from certplatform.sandbox import kinds
from tests.content.minimal_tree import (
    COURSE,
    EXAM,
    TRITON_OP_RULES,
    WRONG_FILE,
    edit,
    line_of,
    write,
    write_minimal_exam,
    write_minimal_tree,
)

TASK = f"{EXAM}/tasks/add_one"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_minimal_exam(write_minimal_tree(tmp_path))


def _errors(root: Path) -> list[tuple[str, int | None, str]]:
    return [(e.file, e.line, e.message) for e in load_content(root).errors]


def test_valid_exam_loads(root: Path) -> None:
    tree = load_content(root)
    assert tree.errors == ()
    [exam] = tree.exams
    assert exam.slug == "l1-exam" and exam.spec.pass_mark == 0.7
    [task] = exam.tasks
    assert task.spec.id == "add_one" and task.path == TASK
    assert task.prompt["en"].startswith("# Add one") and "NotImplementedError" in task.starter


def test_the_real_exams_validate() -> None:
    tree = load_content(Path(__file__).resolve().parents[2])
    assert tree.errors == ()
    assert {e.slug for e in tree.exams} >= {"l1-operator-dev"}


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("runtime: triton-cpu", "runtime: tpu", "runtime:", "unknown runtime 'tpu'"),
        ("kind: triton_op", "kind: magic", "kind:", "unknown task kind 'magic'"),
        ("pass_mark: 0.7", "pass_mark: 1.5", "pass_mark", "pass_mark: Input should be less than or equal to 1"),
        ("memory_mb: 512", "memory_mb: 1", "limits:", "memory_mb: Input should be greater than or equal to 64"),
        ("time_limit_minutes: 60", "time_limit_minutes: 60\ncolour: red", "colour", "unknown field 'colour'"),
    ],
)
def test_exam_yaml_errors_point_at_their_line(root: Path, old: str, new: str, needle: str, message: str) -> None:
    edit(root, f"{EXAM}/exam.yaml", old, new)
    [(file, line, text)] = _errors(root)
    assert file == f"{EXAM}/exam.yaml" and message in text
    assert line == line_of(root, f"{EXAM}/exam.yaml", needle)


@pytest.mark.parametrize("name", ["prompt.zh.md", "prompt.en.md", "starter.py", "solution.py"])
def test_every_task_file_is_required(root: Path, name: str) -> None:
    (root / TASK / name).unlink()
    assert _errors(root) == [(f"{TASK}/{name}", None, f"missing {name}: every task needs one")]


def test_hidden_tests_are_required(root: Path) -> None:
    (root / TASK / "tests/cases.py").unlink()
    assert _errors(root) == [(f"{TASK}/tests/", None, "missing hidden tests: tests/ must hold the checker's cases")]


def test_python_files_must_compile(root: Path) -> None:
    write(root, f"{TASK}/solution.py", "def add_one(x):\n    return x +\n")
    assert _errors(root) == [(f"{TASK}/solution.py", 2, "Python syntax error: invalid syntax")]


def test_listed_task_folder_must_exist_and_every_folder_be_listed(root: Path) -> None:
    edit(root, f"{EXAM}/exam.yaml", "- id: add_one", "- id: add_two")
    errors = _errors(root)
    assert (
        f"{EXAM}/exam.yaml",
        line_of(root, f"{EXAM}/exam.yaml", "add_two"),
        f"task 'add_two' is listed but {EXAM}/tasks/add_two/ does not exist",
    ) in errors
    assert (f"{TASK}/", None, f"task folder not listed in {EXAM}/exam.yaml: it would never be graded") in errors


def test_raw_html_in_a_prompt_is_an_error(root: Path) -> None:
    write(root, f"{TASK}/prompt.en.md", f"# Add one\n\n<script>alert(1)</script>\n\n{TRITON_OP_RULES}")
    [(file, line, message)] = _errors(root)
    assert file == f"{TASK}/prompt.en.md" and line == 3 and "HTML" in message


def test_exam_level_must_match_its_course(root: Path) -> None:
    edit(root, f"{COURSE}/course.yaml", "exam: l1-exam", "exam: l1-exam")
    edit(root, f"{EXAM}/exam.yaml", "level: L1", "level: L2")
    assert _errors(root) == [(f"{EXAM}/exam.yaml", None, f"exam 'l1-exam' is level L2, but the course {COURSE} is L1")]


def test_duplicate_uuid_across_course_and_exam(root: Path) -> None:
    edit(
        root,
        f"{EXAM}/exam.yaml",
        "uuid: 00000000-0000-4000-8000-000000000090",
        "uuid: 00000000-0000-4000-8000-000000000001",
    )
    [(file, line, message)] = _errors(root)
    assert file == f"{EXAM}/exam.yaml" and line == 1 and message.startswith("duplicate uuid")


@pytest.mark.parametrize("name", ["prompt.zh.md", "prompt.en.md"])
@pytest.mark.parametrize(
    ("dropped", "what"), [("`torch.ones_like`, ", "allowed allocations"), ("`getattr`, ", "banned")]
)
def test_triton_op_prompts_list_exactly_the_graders_rules(root: Path, name: str, dropped: str, what: str) -> None:
    edit(root, f"{TASK}/{name}", dropped, "")
    [(file, _line, text)] = _errors(root)
    assert file == f"{TASK}/{name}" and what in text and dropped.strip(", ") in text


WRONG = f"{TASK}/{WRONG_FILE}"


def test_a_task_that_grades_code_needs_wrong_solutions(root: Path) -> None:
    (root / WRONG).unlink()
    [(file, line, message)] = _errors(root)
    assert (file, line) == (f"{TASK}/wrong/", None) and message.startswith("missing wrong solutions")
    (root / TASK / "wrong").rmdir()
    assert [e[0] for e in _errors(root)] == [f"{TASK}/wrong/"]


@pytest.mark.parametrize(
    ("head", "line", "message"),
    [
        ('"""Wrong: adds two."""\n', None, "no '# expect: <status> <text>' line in the first 10 lines"),
        ('"""Wrong."""\n\n# expect: failed\n', 3, "the expect line names no text"),
        ('"""Wrong."""\n\n# expect: passed all tests passed\n', 3, "status 'passed' is not one a wrong solution"),
        ('"""Wrong."""\n# expect: wrong differ\n', 2, "use one of error, failed, rejected, timeout"),
        ("\n" * 10 + "# expect: failed differ\n", None, "no '# expect: <status> <text>' line"),
    ],
)
def test_every_wrong_solution_says_which_check_catches_it(root: Path, head: str, line, message: str) -> None:
    write(root, WRONG, head + "def add_one(x):\n    return x + 2\n")
    [(file, found_line, text)] = _errors(root)
    assert (file, found_line) == (WRONG, line) and message in text, text


def test_wrong_holds_python_submissions_only(root: Path) -> None:
    write(root, f"{TASK}/wrong/notes.txt", "why these are wrong\n")
    write(root, f"{TASK}/wrong/.keep", "")
    assert _errors(root) == [
        (f"{TASK}/wrong/notes.txt", None, "not a .py file: wrong/ holds submissions, one per check")
    ]


def test_which_kinds_prove_their_checks_with_wrong_solutions() -> None:
    assert {k for k in kinds.registered() if kinds.proves_checks(k)} == {"triton_op", "chip_profile", "plan_document"}
    assert not kinds.proves_checks("no_such_kind")


DOC = "# Design\n\n## Plan\n\nTwo stages.\n"


@pytest.mark.parametrize(
    ("head", "line", "message"),
    [
        ("", None, "no '[//]: # (expect: <status> <text>)' first line"),
        ("# expect: failed missing\n", None, "no '[//]: # (expect: <status> <text>)' first line"),
        ("# Design\n\n[//]: # (expect: failed missing)\n", 3, "the expect line must be the first line"),
        ("[//]: # (expect: failed sums (to) 79)\n", 1, "its text without parentheses"),
        ("[//]: # (expect: failed missing\n", 1, "write the expect line as '[//]: # (expect: <status> <text>)'"),
        ("[//]: # (expect: passed all checks)\n", 1, "status 'passed' is not one a wrong solution"),
        ("[//]: # (expect: failed )\n", 1, "the expect line names no text"),
    ],
)
def test_a_wrong_document_says_which_check_catches_it_in_a_line_no_page_shows(
    tmp_path: Path, head: str, line, message: str
) -> None:
    write(tmp_path, "wrong/bad.md", head + DOC)
    write(tmp_path, "wrong/good.md", "[//]: # (expect: failed missing a heading for: Cost)\n\n" + DOC)
    write(tmp_path, "wrong/code.py", "# expect: failed missing\n")
    errors = [(e.file, e.line, e.message) for e in check_wrong_folder(tmp_path, lambda p: p.name, ".md")]
    assert errors[0][:2] == ("bad.md", line) and message in errors[0][2], errors
    assert errors[1:] == [("code.py", None, "not a .md file: wrong/ holds submissions, one per check")]


def test_a_wrong_document_is_graded_without_its_expect_line(tmp_path: Path) -> None:
    write(tmp_path, "wrong/doc.md", "[//]: # (expect: failed missing a heading for: Cost)\n\n\n" + DOC)
    write(tmp_path, "wrong/code.py", '"""Wrong."""\n# expect: failed differ\n')
    expected, document = read_wrong(tmp_path / "wrong" / "doc.md")
    assert (expected.status, expected.text, document) == ("failed", "missing a heading for: Cost", DOC)
    assert read_wrong(tmp_path / "wrong" / "code.py")[1] == '"""Wrong."""\n# expect: failed differ\n'
    assert [p.name for p in wrong_files(tmp_path, ".md")] == ["doc.md"]
