"""The profile files of a chip_profile exam are written from the grader's chipprofile module and the validator
rejects every file that differs from it, so the profiles a candidate reads are the ones the grader uses; the
module stays a self-contained part of the sandbox image whose tag follows its data."""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from certplatform.content import chip_profiles, chip_tables
from certplatform.content.cli import content
from certplatform.content.loader import load_content
from certplatform.sandbox import harness_data, images
from certplatform.services.markdown import render
from tests.content.minimal_tree import EXAM, LESSON1, LESSON2, edit, write_minimal_exam, write_minimal_tree

REPO = Path(__file__).resolve().parents[2]
L2 = REPO / "exams" / "l2-cross-chip"
chipprofile = harness_data.load("chipprofile")
TABLE_TASKS = ("migrate_block", "portable_softmax", "tuned_mm")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The minimal tree with its exam task turned into a chip_profile one and the L2 exam's profile files."""
    root = write_minimal_exam(write_minimal_tree(tmp_path))
    edit(root, f"{EXAM}/exam.yaml", "kind: triton_op", "kind: chip_profile")
    shutil.copytree(L2 / "profiles", root / EXAM / "profiles")
    return root


def _errors(root: Path) -> list[tuple[str, int | None, str]]:
    return [(e.file, e.line, e.message) for e in load_content(root).errors]


def test_every_public_profile_and_only_those_have_a_file_in_the_l2_exam() -> None:
    assert sorted(p.stem for p in (L2 / "profiles").iterdir()) == sorted(chipprofile.PUBLIC_PROFILES)
    assert sorted(chipprofile.HIDDEN_RANGES) == sorted(chipprofile.PUBLIC_PROFILES)
    assert chip_profiles.exam_folders(REPO) == [L2]


@pytest.mark.parametrize("name", sorted(chipprofile.PUBLIC_PROFILES))
def test_a_rendered_file_reads_back_as_the_graded_profile(name: str) -> None:
    text = chip_profiles.render(name, ["# a family"])
    assert chipprofile.ChipProfile.from_wire(yaml.safe_load(text)) == chipprofile.PUBLIC_PROFILES[name]
    ranges = chip_profiles.ranges_line(name)
    assert text.splitlines()[0] == "# a family" and text.splitlines()[2] == ranges
    for field, (how, low, high) in chipprofile.HIDDEN_RANGES[name].items():
        assert f"{field} in [{low}, {high}]" + (" (a power of two)" if how == "pow2" else "") in ranges


def test_the_copied_l2_files_validate(root: Path) -> None:
    assert _errors(root) == []


def test_a_value_that_differs_from_the_grader_is_reported_at_its_line(root: Path) -> None:
    rel = f"{EXAM}/profiles/mlu-like.yaml"
    edit(root, rel, "onchip_bytes: 16384", "onchip_bytes: 32768")
    line = (root / rel).read_text(encoding="utf-8").splitlines().index("onchip_bytes: 32768") + 1
    [(file, number, message)] = _errors(root)
    assert (file, number) == (rel, line)
    assert "expected 'onchip_bytes: 16384'" in message and "certplatform content chip-profiles" in message


def test_a_changed_range_line_an_extra_line_and_a_stray_file_are_reported(root: Path) -> None:
    edit(root, f"{EXAM}/profiles/xpu-like.yaml", "compute_units in [8, 12]", "compute_units in [8, 16]")
    with (root / EXAM / "profiles" / "npu-like.yaml").open("a", encoding="utf-8") as file:
        file.write("secret: 1\n")
    (root / EXAM / "profiles" / "tpu-like.yaml").write_text("name: tpu-like\n", encoding="utf-8")
    errors = {file: (line, message) for file, line, message in _errors(root)}
    assert errors[f"{EXAM}/profiles/xpu-like.yaml"][0] == 4
    assert errors[f"{EXAM}/profiles/npu-like.yaml"][1].startswith("an extra line")
    assert "not a public profile" in errors[f"{EXAM}/profiles/tpu-like.yaml"][1]
    assert len(errors) == 3


def test_the_command_writes_missing_and_stale_files_and_keeps_their_description(root: Path) -> None:
    profiles = root / EXAM / "profiles"
    (profiles / "gpgpu-64.yaml").unlink()
    edit(root, f"{EXAM}/profiles/mlu-like.yaml", "compute_units: 48", "compute_units: 50")
    description = (profiles / "mlu-like.yaml").read_text(encoding="utf-8").splitlines()[:2]
    result = CliRunner().invoke(content, ["chip-profiles", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"wrote {EXAM}/profiles/gpgpu-64.yaml",
        f"wrote {EXAM}/profiles/mlu-like.yaml",
        "2 profile files and 0 Markdown files changed",
    ]
    assert (profiles / "mlu-like.yaml").read_text(encoding="utf-8").splitlines()[:2] == description
    assert (profiles / "mlu-like.yaml").read_text(encoding="utf-8") == (L2 / "profiles" / "mlu-like.yaml").read_text(
        encoding="utf-8"
    )
    assert _errors(root) == []
    unchanged = CliRunner().invoke(content, ["chip-profiles", str(root)]).output
    assert unchanged == "0 profile files and 0 Markdown files changed\n"


def test_an_exam_without_chip_profile_tasks_needs_no_profile_files(tmp_path: Path) -> None:
    root = write_minimal_exam(write_minimal_tree(tmp_path))
    assert _errors(root) == [] and chip_profiles.exam_folders(root) == []


@pytest.mark.parametrize("name", sorted(harness_data.DATA_MODULES))
def test_harness_data_modules_import_only_the_standard_library(name: str) -> None:
    """They run in the sandbox image and in the web app alike, beside no data file and no harness package."""
    tree = ast.parse(harness_data.DATA_MODULES[name].read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert {m.partition(".")[0] for m in imported} <= set(sys.stdlib_module_names) | {"__future__"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


def test_the_sandbox_image_tag_follows_the_profile_data(tmp_path: Path) -> None:
    harness = tmp_path / "harness"
    shutil.copytree(REPO / "sandboxes" / "harness", harness, ignore=shutil.ignore_patterns("__pycache__"))
    before = images.image_tag(REPO, "triton-cpu", harness_dir=harness)
    module = harness / "chipprofile.py"
    text = module.read_text(encoding="utf-8")
    assert text.count("compute_units=48,") == 1
    module.write_text(text.replace("compute_units=48,", "compute_units=50,"), encoding="utf-8")
    assert images.image_tag(REPO, "triton-cpu", harness_dir=harness) != before


# ---- the tables in Markdown ------------------------------------------------------------------------------------

TABLE_FILES = {
    f"courses/l2/02-capabilities-and-portable-kernels/01-capability-profiles/lesson.{lang}.md" for lang in ("en", "zh")
} | {f"exams/l2-cross-chip/tasks/{task}/prompt.{lang}.md" for task in TABLE_TASKS for lang in ("en", "zh")}
TASK = f"{EXAM}/tasks/add_one"
DASH = chip_tables.DASH
BEGIN, END = '[//]: # (begin chip-profiles table "{}")', "[//]: # (end chip-profiles table)"


def _dash(text: str) -> str:
    """Ranges written with ~ for the en dash the tables use."""
    return text.replace("~", DASH)


def _region(kind: str) -> str:
    return f"\n{BEGIN.format(kind)}\n\n{END}\n\nAfter the table.\n"


@pytest.fixture
def tables(root: Path) -> Path:
    """`root` with a profile table in both bodies of a lesson and a hidden-ranges table in both prompts of its task,
    whose tests draw npu-like's blocks within their own range, written by the command."""
    for lang in ("en", "zh"):
        with (root / LESSON2 / f"lesson.{lang}.md").open("a", encoding="utf-8") as file:
            file.write(_region("profiles"))
        with (root / TASK / f"prompt.{lang}.md").open("a", encoding="utf-8") as file:
            file.write(_region("hidden-ranges"))
    (root / TASK / "tests" / "cases.py").write_text(
        'RANGES = {"npu-like": {"max_block_numel": ("pow2", 1 << 8, 4 * 256)}}\nCASES = [1, 2, 3]\n', encoding="utf-8"
    )
    result = CliRunner().invoke(content, ["chip-profiles", str(root)])
    assert result.exit_code == 0 and result.output.endswith("0 profile files and 4 Markdown files changed\n")
    return root


def _regions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("[//]: # (begin chip-profiles table")]


def test_the_l2_lesson_and_prompts_hold_the_tables_the_command_writes() -> None:
    found = {p.relative_to(REPO).as_posix() for p in chip_tables.markdown_files(REPO) if _regions(p)}
    assert found == TABLE_FILES
    for rel in sorted(TABLE_FILES):
        text = (REPO / rel).read_text(encoding="utf-8")
        assert chip_tables.expected_text(REPO / rel, text) == text, rel
    assert chip_tables.check_tables(REPO, lambda p: p.relative_to(REPO).as_posix()) == []


def test_the_tables_read_as_before_in_both_languages() -> None:
    lesson = {lang: "\n".join(chip_tables.profiles_table(lang)) for lang in ("en", "zh")}
    assert "| `npu-like` | 32 | ignored | 1024 | 4 KiB | 256 | 40 | no fp64 | 2^31 |" in lesson["en"]
    assert "| `gpgpu-32` | 32 | 1, 2, 4, 8, 16, 32 | 1024 | 64 KiB | 16384 | 108 | 全部六种 | 2^31 |" in lesson["zh"]
    assert "| `xpu-like` | 64 | 忽略 | 1024 | 32 KiB | 8192 | 12 | fp32、fp16、int32 | 2^20 |" in lesson["zh"]
    ranges = chip_tables.hidden_ranges_table("zh", {})
    assert ranges[0] == "| 系列 | 每次评测抽取 |" and ranges[-1].startswith("onchip_bytes 和 max_block_numel 只取")
    assert _dash("| `mlu-like` | onchip_bytes 2~16 KiB，max_block_numel 512~4096，compute_units 8~64 |") in ranges
    ranges = chip_tables.hidden_ranges_table("en", {"xpu-like": {"onchip_bytes": ("pow2", 16 << 10, 32 << 10)}})
    assert ranges[0] == "| family | drawn for every run (this task) |"
    xpu = "| `xpu-like` | onchip_bytes 16~32 KiB, max_block_numel 1024~8192, compute_units 8~12, "
    xpu += "max_index 65536~1048576"
    assert ranges[6] == _dash(xpu + " |")
    mixed = chip_tables.hidden_ranges_table("en", {"gpgpu-64": {"compute_units": ("pow2", 32, 128)}})
    assert mixed[3] == _dash(
        "| `gpgpu-64` | onchip_bytes 8~64 KiB, max_block_numel 1024~16384, compute_units 32~128 (powers of two) |"
    )
    assert mixed[-1].startswith("Only powers of two are drawn for onchip_bytes and max_block_numel;")


@pytest.mark.parametrize("rel", sorted(TABLE_FILES))
def test_no_page_shows_the_markers(rel: str) -> None:
    html = render((REPO / rel).read_text(encoding="utf-8"))
    assert "[//]" not in html and "chip-profiles" not in html
    assert html.count("<table>") >= 1
    assert all(f"<td><code>{name}</code></td>" in html for name in chipprofile.PUBLIC_PROFILES)


def test_a_prompt_table_uses_its_task_s_ranges_and_a_lesson_table_the_profiles(tables: Path) -> None:
    assert _errors(tables) == []
    prompt = (tables / TASK / "prompt.en.md").read_text(encoding="utf-8")
    assert "| family | drawn for every run (this task) |" in prompt
    assert _dash("| `npu-like` | onchip_bytes 1~4 KiB, max_block_numel 256~1024, compute_units 20~40 |") in prompt
    assert prompt.endswith(f"{END}\n\nAfter the table.\n")
    lesson = (tables / LESSON2 / "lesson.zh.md").read_text(encoding="utf-8")
    assert "| `mlu-like` | 32 | 1, 4 | 128 | 16 KiB | 4096 | 48 | 无 fp64 | 2^31 |" in lesson
    assert CliRunner().invoke(content, ["chip-profiles", str(tables)]).output.endswith("and 0 Markdown files changed\n")


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        (
            f"{LESSON2}/lesson.en.md",
            "| `mlu-like` | 32 | 1, 4 | 128 | 16 KiB |",
            "| `mlu-like` | 32 | 1, 4 | 128 | 32 KiB |",
        ),
        (f"{LESSON2}/lesson.zh.md", "| `xpu-like` | 64 | 忽略 |", "| `xpu-like` | 64 | 1, 2 |"),
        (f"{TASK}/prompt.en.md", _dash("max_block_numel 256~1024"), _dash("max_block_numel 64~256")),
        (f"{TASK}/prompt.zh.md", _dash("compute_units 8~12，max_index"), _dash("compute_units 8~16，max_index")),
    ],
)
def test_a_value_edited_in_a_table_fails_validate_at_its_line(tables: Path, rel: str, old: str, new: str) -> None:
    edit(tables, rel, old, new)
    lines = (tables / rel).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if new in text)
    [(file, number, message)] = _errors(tables)
    assert (file, number) == (rel, line)
    assert f"expected {lines[line - 1].replace(new, old)!r}" in message
    assert "run `certplatform content chip-profiles`" in message
    result = CliRunner().invoke(content, ["validate", str(tables)])
    assert result.exit_code == 1 and f"{rel}:{line}: differs from the generated chip profile table" in result.output
    assert CliRunner().invoke(content, ["chip-profiles", str(tables)]).output.endswith("and 1 Markdown file changed\n")
    assert _errors(tables) == []


@pytest.mark.parametrize(
    "header",
    [
        "| profile | warp_size | allowed_num_warps |",
        "| 系列 | 每次评测抽取（本题） |",
        "| family | drawn for every run |",
    ],
)
def test_a_copy_of_a_generated_table_outside_a_region_is_reported(tables: Path, header: str) -> None:
    rel = f"{LESSON1}/lesson.en.md"
    with (tables / rel).open("a", encoding="utf-8") as file:
        file.write(f"\n{header}\n|---|---|---|\n| gpgpu-64 | 64 | 1, 2 |\n| mlu-like | 32 | 1, 4 |\n\nText.\n")
    [(file, number, message)] = _errors(tables)  # one for the table
    assert (file, number) == (rel, len((tables / rel).read_text(encoding="utf-8").splitlines()) - 3)
    assert message.startswith("a chip profile table written by hand")


def test_other_tables_by_chip_are_not_copies(tables: Path) -> None:
    with (tables / LESSON1 / "lesson.en.md").open("a", encoding="utf-8") as file:
        file.write("\n| profile | path taken |\n|---|---|\n| mlu-like | looped |\n")
    assert _errors(tables) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (f"\n{END}\n", "\n", "is not closed"),
        ('table "profiles"', 'table "chips"', "unknown table 'chips'"),
        ("\n\n[//]: # (begin", "\nText right above.\n[//]: # (begin", "a blank line must come before"),
    ],
)
def test_a_broken_region_is_reported_and_not_written(tables: Path, old: str, new: str, problem: str) -> None:
    rel = f"{LESSON2}/lesson.en.md"
    edit(tables, rel, old, new)
    before = (tables / rel).read_text(encoding="utf-8")
    # (The marker line after a paragraph is also read as a broken link, which the lesson checks report.)
    [(file, number, message)] = [e for e in _errors(tables) if "generated" in e[2]]
    assert file == rel and number == before.splitlines().index(_regions(tables / rel)[0]) + 1 and problem in message
    result = CliRunner().invoke(content, ["chip-profiles", str(tables)])
    assert result.exit_code == 1 and f"{rel}:{number}: " in result.output
    assert (tables / rel).read_text(encoding="utf-8") == before


def test_a_task_s_ranges_must_be_plain_literals(tables: Path) -> None:
    (tables / TASK / "tests" / "cases.py").write_text("RANGES = dict(npu=1)\n", encoding="utf-8")
    errors = _errors(tables)
    assert {file for file, _, _ in errors} == {f"{TASK}/prompt.en.md", f"{TASK}/prompt.zh.md"}
    assert all("RANGES in tests/cases.py, line 1: not a plain literal" in message for _, _, message in errors)
