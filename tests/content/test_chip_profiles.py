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

from certplatform.content import chip_profiles
from certplatform.content.cli import content
from certplatform.content.loader import load_content
from certplatform.sandbox import harness_data, images
from tests.content.minimal_tree import EXAM, edit, write_minimal_exam, write_minimal_tree

REPO = Path(__file__).resolve().parents[2]
L2 = REPO / "exams" / "l2-cross-chip"
chipprofile = harness_data.load("chipprofile")


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
