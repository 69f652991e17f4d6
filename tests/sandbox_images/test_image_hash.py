"""The content hash that tags sandbox images, and static checks of the image definitions (no engine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from certplatform.sandbox import images

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A minimal checkout: one runtime and a harness with a nested package."""
    runtime = tmp_path / "sandboxes" / "triton-cpu"
    runtime.mkdir(parents=True)
    (runtime / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY harness /opt/harness\n")
    (runtime / "requirements.txt").write_text("torch==2.13.0\n")
    harness = tmp_path / "sandboxes" / "harness"
    (harness / "gradelib").mkdir(parents=True)
    (harness / "grade.py").write_text("print('grade')\n")
    (harness / "gradelib" / "compare.py").write_text("TOL = 1e-5\n")
    return tmp_path


def tag(repo: Path, **kwargs: object) -> str:
    return images.image_tag(repo, "triton-cpu", **kwargs)  # type: ignore[arg-type]


def test_tag_names_runtime_and_twelve_hex_digits(repo: Path) -> None:
    assert re.fullmatch(r"certplatform/sandbox-triton-cpu:[0-9a-f]{12}", tag(repo))


def test_hash_is_stable_when_nothing_changes(repo: Path) -> None:
    first = tag(repo)
    for path in (repo / "sandboxes").rglob("*"):
        path.touch()  # mtimes are not content
    assert tag(repo) == first


def test_hash_changes_when_a_harness_file_changes(repo: Path) -> None:
    before = tag(repo)
    (repo / "sandboxes" / "harness" / "gradelib" / "compare.py").write_text("TOL = 1e-4\n")
    assert tag(repo) != before


@pytest.mark.parametrize("change", ["add", "rename", "delete"])
def test_hash_changes_when_the_harness_tree_changes(repo: Path, change: str) -> None:
    before = tag(repo)
    compare = repo / "sandboxes" / "harness" / "gradelib" / "compare.py"
    if change == "add":
        (compare.parent / "__init__.py").write_text("")
    elif change == "rename":
        compare.rename(compare.with_name("tolerances.py"))
    else:
        compare.unlink()
    assert tag(repo) != before


@pytest.mark.parametrize("path", ["sandboxes/triton-cpu/Dockerfile", "sandboxes/triton-cpu/requirements.txt"])
def test_hash_changes_with_dockerfile_and_requirements(repo: Path, path: str) -> None:
    before = tag(repo)
    with (repo / path).open("a") as file:
        file.write("# changed\n")
    assert tag(repo) != before


def test_hash_changes_with_the_base_tag(repo: Path) -> None:
    assert tag(repo) != tag(repo, base_tag="python:3.11-slim")


def test_hash_ignores_bytecode_left_by_running_the_harness(repo: Path) -> None:
    before = tag(repo)
    cache = repo / "sandboxes" / "harness" / "gradelib" / "__pycache__"
    cache.mkdir()
    (cache / "compare.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (repo / "sandboxes" / "harness" / "stray.pyc").write_bytes(b"\x00")
    assert tag(repo) == before


def test_default_base_is_the_runtimes_own(repo: Path) -> None:
    assert tag(repo) == tag(repo, base_tag=images.BASE_TAG)
    assert images.default_base("triton-gpu").startswith("nvidia/cuda:")


def test_harness_dir_overrides_the_repository_harness(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-harness"
    other.mkdir()
    (other / "grade.py").write_text("print('other')\n")
    assert tag(repo, harness_dir=other) != tag(repo)


def test_missing_harness_is_a_named_error(repo: Path) -> None:
    with pytest.raises(images.ImageBuildError, match="harness folder"):
        tag(repo, harness_dir=repo / "nowhere")


def test_unknown_runtime_is_a_named_error(repo: Path) -> None:
    with pytest.raises(images.ImageBuildError, match="no Dockerfile for runtime 'rocm'"):
        images.image_tag(repo, "rocm")


def test_build_error_carries_the_failing_steps_output() -> None:
    error = images.ImageBuildError("pip download", "exit status 1", "ERROR: No matching distribution")
    assert error.step == "pip download"
    assert "pip download: exit status 1" in str(error)
    assert "No matching distribution" in str(error)


def test_failed_command_raises_with_its_output() -> None:
    with pytest.raises(images.ImageBuildError) as info:
        images._run("probe", ["sh", "-c", "echo the-reason >&2; exit 3"], timeout=10)
    assert info.value.step == "probe"
    assert "exit status 3" in str(info.value)
    assert "the-reason" in info.value.output


# The checked-in image definitions. The GPU one cannot be built here (no GPU, no registry), so these
# static checks are what guards it.


@pytest.mark.parametrize("runtime", ["triton-cpu", "triton-gpu"])
def test_image_definition(runtime: str) -> None:
    dockerfile = (REPO_ROOT / "sandboxes" / runtime / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE=\S+", dockerfile, re.M)
    assert re.search(r"^FROM \$\{BASE\}", dockerfile, re.M)
    assert "--no-index" in dockerfile
    assert "--uid 10001" in dockerfile
    assert re.search(r"^COPY harness /opt/harness$", dockerfile, re.M)
    # Started as root so the harness can drop the candidate to uid 10001 (see the Dockerfile).
    assert not re.search(r"^USER\b", dockerfile, re.M)


def test_cpu_image_runs_triton_in_interpreter_mode() -> None:
    dockerfile = (REPO_ROOT / "sandboxes" / "triton-cpu" / "Dockerfile").read_text()
    assert "TRITON_INTERPRET=1" in dockerfile
    assert "ARG BASE=certplatform/sandbox-base:bookworm" in dockerfile


@pytest.mark.parametrize("runtime", ["triton-cpu", "triton-gpu"])
def test_requirements_are_fully_pinned(runtime: str) -> None:
    lines = (REPO_ROOT / "sandboxes" / runtime / "requirements.txt").read_text().splitlines()
    pins = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert pins, "no requirements"
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+]+", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower() for pin in pins}
    assert {"torch", "triton", "numpy"} <= names
    # Any other torch version downloads GBs of CUDA on the machines without a GPU.
    if runtime == "triton-cpu":
        assert "torch==2.13.0" in pins
