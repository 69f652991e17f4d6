"""Build progress from what a real image build printed (tests/sandbox_build_logs/, captured from
`certplatform sandbox build` of the triton-cpu image from nothing), and the status file that carries it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from certplatform.sandbox import build_status
from certplatform.sandbox.build_progress import (
    WEIGHTS,
    BuildProgress,
    DebootstrapParser,
    DockerBuildParser,
    PipDownloadParser,
    dockerfile_instructions,
)
from certplatform.sandbox.build_status import BuildStatus
from certplatform.sandbox.images import requirement_count

LOGS = Path(__file__).parent / "sandbox_build_logs"
REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "sandboxes/triton-cpu/Dockerfile").read_text(encoding="utf-8")
REQUIREMENTS = requirement_count(REPO / "sandboxes/triton-cpu/requirements.txt")


def _fractions(parser, name: str) -> list[tuple[str, float]]:
    out = []
    for line in (LOGS / name).read_text(encoding="utf-8").splitlines():
        fraction = parser.feed(line)
        if fraction is not None:
            out.append((line, fraction))
    return out


def _at(fractions: list[tuple[str, float]], prefix: str) -> float:
    return next(f for line, f in fractions if line.startswith(prefix))


def test_debootstrap_lines_move_forward_through_its_stages_and_end_at_one() -> None:
    parser = DebootstrapParser()
    fractions = _fractions(parser, "debootstrap.log")
    values = [f for _, f in fractions]
    assert values == sorted(values) and values[-1] == 1.0 and max(values[:-1]) < 1.0
    assert parser.retrieved == 118 and parser.extracted == 88
    # Fetching and resolving the lists is a fifth, retrieving the packages reaches about a quarter, installing the rest.
    assert 0.17 < _at(fractions, "I: Checking component") < 0.2
    assert 0.25 < _at(fractions, "I: Retrieving zlib1g") < 0.27
    assert 0.45 < _at(fractions, "I: Unpacking required packages") < 0.5
    assert 0.9 < _at(fractions, "I: Configuring the base system") < 0.96
    assert parser.detail == "base system installed"


def test_pip_download_counts_each_requirement_once_across_its_offline_and_online_passes() -> None:
    parser = PipDownloadParser(REQUIREMENTS)
    fractions = _fractions(parser, "pip-download.log")
    assert REQUIREMENTS == 12 and len(parser.resolved) == 12
    assert fractions[-1] == (fractions[-1][0], 1.0) and fractions[-1][0].startswith("Successfully downloaded")
    before_saving = max(f for line, f in fractions if not line.startswith(("Saved", "Successfully")))
    assert before_saving == pytest.approx(0.8)


def test_docker_build_steps_are_weighted_by_what_they_do() -> None:
    instructions = dockerfile_instructions(DOCKERFILE)
    assert len(instructions) == 12 and instructions[6].startswith("RUN python3 -m venv")
    parser = DockerBuildParser(DOCKERFILE, REQUIREMENTS)
    fractions = _fractions(parser, "docker-build.log")
    # The builder counts 13 steps: the label the build passes becomes a last LABEL step.
    assert parser.steps == 13
    install = _at(fractions, "Step 7/13 : RUN")
    after_install = _at(fractions, "Step 8/13")
    assert install < 0.2 and after_install > 0.9  # installing the wheels is most of the build
    assert _at(fractions, "Installing collected packages") < _at(fractions, "Successfully installed") < after_install
    assert fractions[-1][0].startswith("Successfully tagged") and fractions[-1][1] == 1.0


def _replay(progress: BuildProgress, phases: list[tuple[str, object, str | None]]) -> None:
    for phase, parser, log in phases:
        progress.begin(phase, parser)
        if log:
            for line in (LOGS / log).read_text(encoding="utf-8").splitlines(keepends=True):
                progress.feed(line)
        progress.end()


def test_the_whole_build_is_weighted_by_measured_step_times_and_only_moves_forward() -> None:
    seen: list[tuple[str, int]] = []
    progress = BuildProgress(listener=lambda p: seen.append((p.phase, p.percent)))
    _replay(
        progress,
        [
            ("debootstrap", DebootstrapParser(), "debootstrap.log"),
            ("import", None, None),
            ("wheels", PipDownloadParser(REQUIREMENTS), "pip-download.log"),
            ("docker build", DockerBuildParser(DOCKERFILE, REQUIREMENTS), "docker-build.log"),
        ],
    )
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and percents[-1] == 100 and percents.count(100) == 1
    total = sum(WEIGHTS.values())
    first_wheels = next(p for phase, p in seen if phase == "wheels")
    assert first_wheels == int(100 * (WEIGHTS["debootstrap"] + WEIGHTS["import"]) / total)
    assert 99 in percents  # the last step's end, before everything has ended


def test_a_base_that_exists_leaves_the_weight_to_the_other_steps() -> None:
    progress = BuildProgress()
    progress.skip("debootstrap")
    progress.skip("import")
    _replay(progress, [("wheels", PipDownloadParser(REQUIREMENTS), "pip-download.log")])
    share = WEIGHTS["wheels"] / (WEIGHTS["wheels"] + WEIGHTS["docker build"])
    assert progress.percent == int(100 * share)
    progress.begin("wheels", PipDownloadParser(REQUIREMENTS))  # a step that starts over never goes back
    assert progress.percent == int(100 * share)


def test_the_status_file_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "sandbox-build.json"
    assert build_status.read(path) is None
    status = build_status.started(path, "certplatform/sandbox-triton-cpu:abc", "triton-cpu")
    assert status.building and status.pid == os.getpid()
    build_status.write(path, BuildStatus(**{**json.loads(path.read_text()), "percent": 40, "phase": "docker build"}))
    again = build_status.read(path)
    assert again.percent == 40 and again.building and again.as_json()["state"] == "building"
    assert sorted(p.name for p in path.parent.iterdir()) == ["sandbox-build.json"]  # no temporary file left
    path.write_text("{half a json")
    assert build_status.read(path) is None


def test_a_build_whose_process_died_is_not_under_way(tmp_path: Path) -> None:
    path = tmp_path / "sandbox-build.json"
    # A real process that wrote the file and ended.
    code = (
        "import sys; from certplatform.sandbox import build_status; "
        "build_status.started(sys.argv[1], 'certplatform/sandbox-triton-cpu:abc', 'triton-cpu')"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=REPO)
    status = build_status.read(path)
    assert status.state == "building" and not status.building
    assert status.as_json()["state"] == "failed" and "stopped" in status.as_json()["message"]
