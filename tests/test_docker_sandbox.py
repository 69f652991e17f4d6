"""The Docker backend for real: one hardened container per submission, the limits applied, always removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from certplatform.sandbox import images, kinds, pool
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.backends.docker_backend import LABEL, DockerBackend
from certplatform.sandbox.limits import Limits
from tests.exam_fixtures import REAL_EXAM, REPO, TASKS, source

pytestmark = pytest.mark.docker
TASK_IDS = ("vector_add", "gelu", "softmax", "rms_norm", "matmul")
RUN = f"pytest-{uuid.uuid4().hex[:8]}"  # labels this run's containers: other graders may share the engine


def _limits(task: str) -> Limits:
    import yaml

    spec = yaml.safe_load((REAL_EXAM / "exam.yaml").read_text())
    return Limits.from_mapping(next(t for t in spec["tasks"] if t["id"] == task)["limits"])


class PrewarmedBackend(DockerBackend):
    """The Docker backend with a pool, whose every grade of this module must happen in a pooled container: the
    same tests then run against pooled containers exactly as against cold ones. Before each grade the pool is
    given the time to have a warm container for every key the tests use."""

    def settle(self) -> None:
        pool = self.pool()
        _wait_until(lambda: all(pool.warm_count(key) >= 1 for key in pool.wanted()), 300, "warm containers")

    def grade(self, request: GradeRequest):
        self.settle()
        result = super().grade(request)
        if request.kind.warm_candidate and result.status != "not_gradable":
            assert result.extra.get("pooled"), f"not graded in a pooled container: {result}"
        return result


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def exam_limits(exam: Path, tasks: tuple[str, ...] | None = None) -> list[Limits]:
    """The limits of an exam's tasks (all, or the ones named), as its grades ask for them."""
    import yaml

    spec = yaml.safe_load((exam / "exam.yaml").read_text())
    return [Limits.from_mapping(t["limits"]) for t in spec["tasks"] if tasks is None or t["id"] in tasks]


def build_image() -> None:
    import docker

    with closing(docker.from_env(timeout=600)) as client:
        images.build_runtime_image(client, "triton-cpu", REPO)  # cached by content hash


def _prewarmed(warm: list[Limits]):
    """A PrewarmedBackend keeping one container warm for each of these limits; closed, and checked to leave
    nothing behind, when the module is done."""
    pooled = PrewarmedBackend(repo_root=REPO, image_overrides={}, pool_size=1, pool_label=f"{RUN}-pool")
    for limits in warm:
        pooled.warm_up("triton-cpu", limits)
    yield pooled
    pooled.pool().close()
    assert _leftovers() == [], "the pool left a container behind"


@pytest.fixture(scope="module", params=["cold", "pooled"])
def backend(request) -> DockerBackend:
    """This module's grades, once in cold containers and once in pooled ones."""
    build_image()
    if request.param == "cold":
        yield DockerBackend(repo_root=REPO, image_overrides={})
        return
    # The container-level limits the tests use: the tasks' own, and a smaller memory.
    yield from _prewarmed([*exam_limits(REAL_EXAM, TASK_IDS), replace(_limits("vector_add"), memory_mb=768)])


@pytest.fixture(scope="module")
def pooled_backend(request) -> DockerBackend:
    """Pooled containers warmed for the limits of every task of the requesting module's exams (its EXAMS, a list
    of exam folders): modules that grade exam content in a container, once the equivalence of cold and pooled
    containers is shown here."""
    build_image()
    yield from _prewarmed([limits for exam in request.module.EXAMS for limits in exam_limits(exam)])


def _request(task: str, code: str, **limits: object) -> GradeRequest:
    return GradeRequest(
        code=code,
        tests_dir=TASKS / task / "tests",
        kind=kinds.get("triton_op"),
        runtime="triton-cpu",
        limits=replace(_limits(task), **limits),
        label=f"{RUN}-{task}",
    )


def _leftovers(ids: bool = False) -> list[str]:
    import docker

    with closing(docker.from_env()) as client:
        found = pool.list_containers(client, LABEL)
        return [c.id if ids else c.name for c in found if c.labels.get(LABEL, "").startswith(RUN)]


@pytest.fixture(autouse=True)
def nothing_left_behind(backend):
    if isinstance(backend, PrewarmedBackend):
        backend.settle()
    yield
    wait_for_removal(backend)


def wait_for_removal(backend: DockerBackend) -> None:
    """Every container a grade used is gone. A pool's own waiting containers are not left behind; the pool may be
    creating one right now, hence the wait."""
    pool = backend.pool()
    _wait_until(lambda: not set(_leftovers(ids=True)) - (pool.held() if pool else set()), 120, "the removal")


@pytest.mark.parametrize("task", TASK_IDS)
def test_reference_solution_scores_one(backend, task) -> None:
    result = backend.grade(_request(task, source(task)))
    assert (result.status, result.score) == ("passed", 1.0), result.message
    assert result.backend == "docker" and "not isolated" not in result.message


def test_computing_with_torch_is_rejected(backend) -> None:
    cheat = "import torch\n\n\ndef add(x, y):\n    return torch.add(x, y)\n"
    result = backend.grade(_request("vector_add", cheat))
    assert result.status == "rejected" and result.score == 0.0 and result.message


def test_an_endless_loop_ends_as_timeout(backend) -> None:
    loop = "def add(x, y):\n    while True:\n        pass\n"
    started = time.monotonic()
    result = backend.grade(_request("vector_add", loop, wall_seconds=20))
    assert result.status == "timeout"
    assert time.monotonic() - started < 20 + 25


def test_an_output_flood_is_stopped_and_truncated(backend) -> None:
    flood = "def add(x, y):\n    while True:\n        print('x' * 1000)\n"
    result = backend.grade(_request("vector_add", flood, output_kb=8, wall_seconds=30))
    assert result.status == "error" and result.score == 0.0
    assert len(result.stdout) <= 8 * 1024 + 200


def test_exhausting_memory_is_an_error_not_a_crash(backend) -> None:
    hog = (
        "import torch\n\n\ndef add(x, y):\n    hoard = []\n    while True:\n"
        "        hoard.append(torch.zeros(1 << 26))\n"
    )
    result = backend.grade(_request("vector_add", hog, memory_mb=768, wall_seconds=40))
    assert result.status in {"error", "rejected"} and result.score == 0.0, result
    assert result.status != "not_gradable"


def test_a_broken_task_is_not_gradable_and_costs_nothing(backend, tmp_path: Path) -> None:
    (tmp_path / "cases.py").write_text("raise RuntimeError('broken hidden tests')\n")
    request = replace(_request("vector_add", source("vector_add")), tests_dir=tmp_path)
    result = backend.grade(request)
    assert result.status == "not_gradable" and "not counted" in result.message


def test_a_missing_image_is_not_gradable(backend) -> None:
    missing = DockerBackend(repo_root=REPO, image_overrides={"triton-cpu": "certplatform/sandbox-triton-cpu:absent"})
    result = missing.grade(_request("vector_add", source("vector_add")))
    assert result.status == "not_gradable" and "missing" in result.message


def test_an_engine_that_does_not_answer_is_not_gradable(backend, monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = DockerBackend(repo_root=REPO, image_overrides={}).grade(_request("vector_add", source("vector_add")))
    assert result.status == "not_gradable" and "Docker" in result.message


def test_the_limits_module_contains_a_fork_bomb(backend) -> None:
    """The container settings every grading run gets, checked directly: pids, network, root filesystem, user."""
    import docker

    options = Limits(wall_seconds=30, memory_mb=256, pids=32, cpus=1, file_size_mb=8, output_kb=16).docker_options()
    options["user"] = "10001:10001"
    script = (
        "import os, socket, sys\n"
        "print('ifaces', sorted(n for _, n in socket.if_nameindex()))\n"
        "try:\n    open('/etc/x', 'w')\nexcept OSError as e:\n    print('rootfs', e.errno)\n"
        "kids = 0\n"
        "for _ in range(200):\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        import time; time.sleep(30); os._exit(0)\n"
        "    kids += 1\n"
        "print('forked', kids)\n"
        "sys.stdout.flush(); os.killpg(0, 9)\n"
    )
    with closing(docker.from_env()) as client:
        container = client.containers.create(
            backend.image_for("triton-cpu"), ["python3", "-c", script], labels={LABEL: f"{RUN}-limits"}, **options
        )
        try:
            container.start()
            container.wait(timeout=60)
            out = container.logs().decode()
        finally:
            container.remove(force=True, v=True)
    assert "ifaces ['lo']" in out and "rootfs 30" in out  # EROFS
    forked = int(out.split("forked ")[1].split()[0])
    assert forked < 32


def test_grade_cli_contract(backend, tmp_path: Path) -> None:
    """`certplatform grade --json`: exit 0 with a grade, 2 for usage errors, 3 when the sandbox cannot grade."""
    cli = [sys.executable, "-m", "flask", "--app", "certplatform:create_app", "grade"]
    env = {**os.environ, "CERTPLATFORM_ENV": "test", "CONTENT_ROOT": str(REPO)}
    base = ["--exam", "l1-operator-dev", "--task", "vector_add", "--backend", "docker", "--json"]
    ok = subprocess.run(
        [*cli, *base, str(TASKS / "vector_add/solution.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout.strip().splitlines()[-1])
    assert set(data) == {"status", "score", "tests", "message", "duration_s", "compute_s"}
    assert data["status"] == "passed"
    assert all(set(t) == {"name", "passed", "message", "compute_s"} for t in data["tests"])
    # What the tests cost, measured inside the harness: each test's share, summed for the submission.
    assert all(t["compute_s"] > 0 for t in data["tests"])
    assert abs(sum(t["compute_s"] for t in data["tests"]) - data["compute_s"]) < 1e-3
    assert data["compute_s"] < data["duration_s"]
    failing = subprocess.run(
        [*cli, *base, str(TASKS / "vector_add/starter.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert failing.returncode == 0 and json.loads(failing.stdout.strip().splitlines()[-1])["status"] == "failed"
    for args in (["--exam", "nope", "--task", "vector_add"], ["--exam", "l1-operator-dev", "--task", "nope"]):
        usage = subprocess.run(
            [*cli, *args, str(TASKS / "vector_add/solution.py")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert usage.returncode == 2 and "Error" in usage.stderr
    missing = subprocess.run(
        [*cli, *base, str(tmp_path / "absent.py")], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert missing.returncode == 2
    broken = subprocess.run(
        [*cli, *base, str(TASKS / "vector_add/solution.py")],
        capture_output=True,
        text=True,
        env={**env, "SANDBOX_IMAGE_TRITON_CPU": "certplatform/sandbox-triton-cpu:absent"},
        timeout=120,
        check=False,
    )
    assert broken.returncode == 3 and json.loads(broken.stdout.strip().splitlines()[-1])["status"] == "not_gradable"
