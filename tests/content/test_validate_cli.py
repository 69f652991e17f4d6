"""`certplatform content validate|schema|sync` through click's test runner: output format and exit codes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from certplatform.content import cli
from certplatform.content.cli import content
from certplatform.content.loader import load_content
from certplatform.content.schemas import SCHEMAS
from tests.content.minimal_tree import LESSON1, LESSON2, MODULE, edit, write, write_minimal_exam, write_minimal_tree

QUIZ = f"{MODULE}/quiz.yaml"


def run(*args: str, obj: object = None):
    return CliRunner().invoke(content, list(args), obj=obj)


def test_validate_ok(tmp_path: Path) -> None:
    write_minimal_tree(tmp_path)
    result = run("validate", str(tmp_path))
    assert result.exit_code == 0, result.output
    version = load_content(tmp_path).version
    assert result.output == (
        f"content OK: 1 course, 1 module, 2 lessons, 5 quiz questions, 0 exams, 0 exam tasks (version {version})\n"
    )


def test_validate_reports_every_error_sorted(tmp_path: Path) -> None:
    write_minimal_tree(tmp_path)
    edit(tmp_path, QUIZ, "answer: y", "answer: e")
    edit(tmp_path, f"{LESSON2}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 0")
    (tmp_path / f"{LESSON1}/lesson.zh.md").unlink()
    edit(tmp_path, f"{LESSON1}/lesson.en.md", "../02-second/", "../09-gone/")
    result = run("validate", str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        f"{LESSON1}/lesson.en.md:3: broken link: '../09-gone/' is neither a lesson listed in a module"
        " nor a file in this lesson's assets/",
        f"{LESSON1}/lesson.zh.md: missing lesson.zh.md: every lesson needs one",
        f"{LESSON2}/lesson.yaml:4: duration_minutes: Input should be greater than or equal to 1",
        f"{QUIZ}:34: questions[3].answer: no correct answer: 'e' is not one of the options ['x', 'y']",
        "4 errors in 4 files",
    ]


def test_validate_sorts_lines_numerically_and_counts_files(tmp_path: Path) -> None:
    write_minimal_tree(tmp_path)
    body = "# First\n\n" + "\n\n".join(f"[x{i}](../gone-{i}/)" for i in range(12)) + "\n"
    write(tmp_path, f"{LESSON1}/lesson.en.md", body)
    result = run("validate", str(tmp_path))
    assert result.exit_code == 1
    *errors, summary = result.output.splitlines()
    assert [int(e.split(":")[1]) for e in errors] == [3 + 2 * i for i in range(12)]
    assert summary == "12 errors in 1 file"


def test_validate_root_with_only_exams(tmp_path: Path) -> None:
    write_minimal_exam(tmp_path)
    result = run("validate", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "content OK: 0 courses, 0 modules, 0 lessons, 0 quiz questions, 1 exam, 1 exam task"
    )


def test_validate_root_without_content_exits_2(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "no courses/ or exams/ folder" in result.output


def test_validate_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    assert run("validate", str(tmp_path / "nope")).exit_code == 2


def test_validate_defaults_to_the_repository() -> None:
    assert Path(__file__).resolve().parents[2] == cli.REPO_ROOT
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("content OK: 3 courses, ")


def test_schema_prints_every_schema() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schemas = json.loads(result.output)
    assert set(schemas) == set(SCHEMAS) == {"course", "module", "lesson", "quiz", "exam"}
    assert schemas["quiz"]["additionalProperties"] is False
    assert "uuid" in schemas["lesson"]["required"]


def test_schema_writes_files(tmp_path: Path) -> None:
    result = run("schema", "--out", str(tmp_path / "schemas"))
    assert result.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == [
        "course.schema.json",
        "exam.schema.json",
        "lesson.schema.json",
        "module.schema.json",
        "quiz.schema.json",
    ]
    course = json.loads((tmp_path / "schemas/course.schema.json").read_text(encoding="utf-8"))
    assert course["title"] == "CourseSpec"


class FakeSyncError(Exception):
    pass


@pytest.fixture
def fake_sync(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Stand in for certplatform.content.sync (database work tested elsewhere); records the roots it got."""
    calls: list[Path] = []

    def sync_content(root: Path) -> str:
        calls.append(root)
        if (root / "refuse").exists():
            raise FakeSyncError("content has 3 errors: run `certplatform content validate`")
        return "synced: 1 course, 1 module, 2 lessons"

    module = types.ModuleType("certplatform.content.sync")
    module.SyncError = FakeSyncError  # type: ignore[attr-defined]
    module.sync_content = sync_content  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "certplatform.content.sync", module)
    return calls


def _script_info() -> ScriptInfo:
    return ScriptInfo(create_app=lambda: Flask("content-cli-test"))


def test_sync_prints_report(tmp_path: Path, fake_sync: list[Path]) -> None:
    write_minimal_tree(tmp_path)
    result = run("sync", str(tmp_path), obj=_script_info())
    assert (result.exit_code, result.output) == (0, "synced: 1 course, 1 module, 2 lessons\n")
    assert fake_sync == [tmp_path]


def test_sync_error_exits_1(tmp_path: Path, fake_sync: list[Path]) -> None:
    write_minimal_tree(tmp_path)
    (tmp_path / "refuse").touch()
    result = run("sync", str(tmp_path), obj=_script_info())
    assert result.exit_code == 1
    assert "content has 3 errors" in result.output


def test_sync_root_without_content_exits_2(tmp_path: Path, fake_sync: list[Path]) -> None:
    assert run("sync", str(tmp_path), obj=_script_info()).exit_code == 2
    assert fake_sync == []


def test_init_app_adds_the_group() -> None:
    app = Flask("content-cli-test")
    cli.init_app(app)
    assert app.cli.commands["content"] is content
    result = app.test_cli_runner().invoke(args=["content", "schema"])
    assert result.exit_code == 0
    assert set(json.loads(result.output)) == set(SCHEMAS)
