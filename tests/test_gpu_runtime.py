"""The triton-gpu runtime on the backend side: one table of per-runtime container settings, runtime.json, timings
in the results model, and what the Docker engine here (no GPU, no NVIDIA runtime) makes of a GPU container; on a GPU
host (marker `gpu`, scripts/test --gpu), the CUDA clock and every L1 reference solution in the triton-gpu image."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import sys
import tarfile
import time
from contextlib import closing
from dataclasses import replace

import pytest
import yaml
from docker.types import DeviceRequest, Mount

from certplatform.sandbox import images, kinds, pool
from certplatform.sandbox import limits as limits_module
from certplatform.sandbox.backends.base import GradeRequest, layout_tar
from certplatform.sandbox.backends.docker_backend import LABEL, DockerBackend, _runtime_tar
from certplatform.sandbox.limits import RUNTIME_PROFILES, Limits, RuntimeProfile, runtime_profile
from certplatform.sandbox.results import parse_results
from tests.exam_fixtures import REAL_EXAM, REPO, TASKS, source

LIMITS = Limits(wall_seconds=60, memory_mb=1024, pids=64, cpus=1, file_size_mb=32, output_kb=16)
OWN_LABEL = f"pytest-gpu-runtime-{os.getpid()}"  # the label value of every container this run of the module makes
L1_TASKS = {task["id"]: task for task in yaml.safe_load((REAL_EXAM / "exam.yaml").read_text())["tasks"]}

# The CPU container settings before the GPU runtime existed: they must not change.
CPU_OPTIONS = {
    "network_mode": "none",
    "read_only": True,
    "mem_limit": "1024m",
    "memswap_limit": "1024m",
    "pids_limit": 64,
    "nano_cpus": 1_000_000_000,
    "tmpfs": {"/tmp": "size=32m,mode=1777,nosuid,nodev"},  # inside the container
    "cap_drop": ["ALL"],
    "cap_add": ["SETUID", "SETGID"],
    "security_opt": ["no-new-privileges"],
    "privileged": False,
    "user": "0:0",
    "ulimits": [],
}


def test_cpu_options_are_unchanged() -> None:
    assert LIMITS.docker_options() == CPU_OPTIONS
    assert LIMITS.docker_options("triton-cpu") == CPU_OPTIONS


def test_gpu_options_add_the_gpus_and_an_exec_scratch_and_nothing_else() -> None:
    gpu = LIMITS.docker_options("triton-gpu")
    assert gpu.pop("device_requests") == [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    assert gpu.pop("tmpfs") == {"/tmp": "size=32m,mode=1777,nosuid,nodev,exec"}
    expected = dict(CPU_OPTIONS)
    del expected["tmpfs"]
    assert gpu == expected  # every hardening flag kept


def test_profiles_cover_exactly_the_known_runtimes() -> None:
    assert set(RUNTIME_PROFILES) == kinds.RUNTIMES
    with pytest.raises(ValueError, match="unknown sandbox runtime 'rocm'"):
        runtime_profile("rocm")
    with pytest.raises(ValueError):
        LIMITS.docker_options("rocm")


def _harness_runtime():
    """The harness's own parser (it never imports certplatform, so load it from its file)."""
    path = REPO / "sandboxes" / "harness" / "gradelib" / "runtime.py"
    spec = importlib.util.spec_from_file_location("harness_runtime", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_runtime_json_is_what_the_harness_accepts() -> None:
    harness = _harness_runtime()
    assert runtime_profile("triton-cpu").runtime_json() is None  # absent file: the CPU path as it always was
    data = json.loads(runtime_profile("triton-gpu").runtime_json())
    assert data == {"device": "cuda"}
    assert harness.Runtime.from_mapping(data) == harness.Runtime("cuda", True)


def test_runtime_tar_is_root_owned_and_private() -> None:
    with tarfile.open(fileobj=io.BytesIO(_runtime_tar(b'{"device": "cuda"}'))) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.uid, member.gid, member.mode) == ("runtime.json", 0, 0, 0o600)
        assert tar.extractfile(member).read() == b'{"device": "cuda"}'


def test_backend_takes_the_configured_runtime_for_its_health_check() -> None:
    config = {"SANDBOX_REPO_ROOT": str(REPO), "SANDBOX_IMAGES": {}}
    assert DockerBackend.from_config(config).runtime == "triton-cpu"
    assert DockerBackend.from_config({**config, "SANDBOX_RUNTIME": "triton-gpu"}).runtime == "triton-gpu"


def _request(runtime: str, task: str = "vector_add", base: Limits = LIMITS, **limits: object) -> GradeRequest:
    """The grade of `task`'s reference solution in `runtime`, with `base` limits changed by `limits`."""
    return GradeRequest(
        code=source(task),
        tests_dir=TASKS / task / "tests",
        kind=kinds.get(L1_TASKS[task]["kind"]),
        runtime=runtime,
        limits=replace(base, **limits),
        label=OWN_LABEL,
    )


def test_an_unknown_runtime_is_not_gradable_before_any_container() -> None:
    backend = DockerBackend(repo_root=REPO, image_overrides={})
    result = backend.grade(_request("rocm"))
    assert result.status == "not_gradable" and "unknown sandbox runtime" in result.message


# ---- results.json with timings ------------------------------------------------------------------------------


def _results(tests: list[dict]) -> bytes:
    return json.dumps(
        {"status": "passed", "score": 1.0, "tests": tests, "message": "m", "stdout": "", "stderr": ""}
    ).encode()


def test_timings_go_to_extra_and_the_rest_is_unchanged() -> None:
    plain = {"name": "fp32 (1000,)", "passed": True, "score": 1.0, "message": "ok"}
    timing = {"median_ms": 0.012, "min_ms": 0.011, "mean_ms": 0.013, "reps": 100, "torch_median_ms": 0.2}
    timing |= {"speedup": 16.7, "flag": "implausible speedup 16.7x over torch", "extra_key": "ignored"}
    timed = parse_results(_results([{**plain, "timing": timing}, plain]), 1.0, "docker")
    untimed = parse_results(_results([plain, plain]), 1.0, "docker")
    assert timed == untimed and timed.as_dict() == untimed.as_dict() and timed.as_cli_json() == untimed.as_cli_json()
    assert untimed.extra == {}
    (entry,) = timed.extra["timing"]
    assert entry["name"] == "fp32 (1000,)" and entry["speedup"] == 16.7 and "extra_key" not in entry
    assert entry["flag"].startswith("implausible")


@pytest.mark.parametrize(
    "timing",
    [None, "fast", [], {}, {"median_ms": "1"}, {"median_ms": float("inf")}, {"median_ms": -1}, {"median_ms": True}],
)
def test_malformed_timings_are_dropped_not_fatal(timing) -> None:
    test = {"name": "t", "passed": True, "score": 1.0, "message": "ok", "timing": timing}
    raw = json.dumps({"status": "passed", "score": 1.0, "tests": [test]}, allow_nan=True).encode()
    result = parse_results(raw, 0.0, "docker")
    assert result.status == "passed" and result.extra == {}


# ---- the real engine (no GPU here) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_client():
    import docker

    with closing(docker.from_env(timeout=600)) as client:
        yield client


@pytest.fixture(scope="module")
def cpu_image(docker_client) -> str:
    return images.build_runtime_image(docker_client, "triton-cpu", REPO)  # cached by content hash


@pytest.fixture
def no_leftovers(docker_client):
    """Only this module's containers count: other tests' sandboxes (a worker still removing one) are not ours."""
    yield
    deadline = time.monotonic() + 30  # the engine may still be removing one: only one that stays is left behind
    while (found := pool.list_containers(docker_client, f"{LABEL}={OWN_LABEL}")) and (time.monotonic() < deadline):
        time.sleep(0.5)
    assert found == []


def _run(docker_client, image: str, options: dict, command: list[str]) -> str:
    container = docker_client.containers.create(image, command, labels={LABEL: OWN_LABEL}, **options)
    try:
        container.start()
        container.wait(timeout=60)
        return container.logs().decode()
    finally:
        container.remove(force=True, v=True)


@pytest.mark.docker
def test_the_engine_accepts_the_gpu_settings_and_runtime_json(docker_client, cpu_image, no_leftovers) -> None:
    """Created (not started: no GPU here) with the GPU settings; the engine keeps each one, and runtime.json lands
    root-owned and private next to the layout."""
    options = LIMITS.docker_options("triton-gpu")
    container = docker_client.containers.create(
        cpu_image,
        ["true"],
        mounts=[Mount(target="/grade", source=None, type="volume")],
        labels={LABEL: OWN_LABEL},
        **options,
    )
    try:
        assert container.put_archive("/grade", layout_tar(_request("triton-gpu")))
        assert container.put_archive("/grade", _runtime_tar(runtime_profile("triton-gpu").runtime_json()))
        host = docker_client.api.inspect_container(container.id)["HostConfig"]
        (request,) = host["DeviceRequests"]
        assert request["Count"] == -1 and request["Capabilities"] == [["gpu"]]
        assert "exec" in host["Tmpfs"]["/tmp"].split(",") and "nosuid" in host["Tmpfs"]["/tmp"]
        assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and sorted(host["CapAdd"]) == ["SETGID", "SETUID"]
        assert host["NetworkMode"] == "none" and not host["Privileged"]
        assert host["SecurityOpt"] == ["no-new-privileges"]
        stream, _ = container.get_archive("/grade/runtime.json")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            assert (member.uid, member.gid, member.mode & 0o777) == (0, 0, 0o600)
            assert json.loads(tar.extractfile(member).read()) == {"device": "cuda"}
    finally:
        container.remove(force=True, v=True)


@pytest.mark.docker
def test_only_the_gpu_scratch_can_run_compiled_code(docker_client, cpu_image, no_leftovers) -> None:
    """Triton dlopens the kernels it compiles into its cache on /tmp: Docker's tmpfs default (noexec) forbids it."""
    gpu_without_device = LIMITS.docker_options("triton-gpu")
    del gpu_without_device["device_requests"]
    script = ["sh", "-c", "cp /bin/true /tmp/t && /tmp/t && echo exec-ok || echo exec-refused"]
    assert "exec-ok" in _run(docker_client, cpu_image, gpu_without_device, script)
    assert "exec-refused" in _run(docker_client, cpu_image, LIMITS.docker_options("triton-cpu"), script)


@pytest.mark.docker
def test_a_gpu_grade_on_an_engine_without_gpus_is_not_gradable(docker_client, cpu_image, no_leftovers) -> None:
    backend = DockerBackend(repo_root=REPO, image_overrides={"triton-gpu": cpu_image})
    result = backend.grade(_request("triton-gpu"))
    assert result.status == "not_gradable", result.message


@pytest.mark.docker
def test_the_harness_reads_runtime_json_and_refuses_a_gpu_it_does_not_have(
    docker_client, cpu_image, no_leftovers, monkeypatch, caplog
) -> None:
    """The whole path minus the device request: the backend writes runtime.json into an exec scratch, the harness
    in the container reads it, finds no CUDA device and says so with exit 70, which costs the candidate nothing."""
    monkeypatch.setitem(
        limits_module.RUNTIME_PROFILES, "triton-gpu", RuntimeProfile(device="cuda", gpus=False, scratch_exec=True)
    )
    backend = DockerBackend(repo_root=REPO, image_overrides={"triton-gpu": cpu_image})
    with caplog.at_level("ERROR", logger="certplatform.sandbox.backends.docker_backend"):
        result = backend.grade(_request("triton-gpu"))
    assert result.status == "not_gradable" and "not counted" in result.message
    assert "no CUDA device is visible" in caplog.text


# ---- on a GPU host: in the triton-gpu image, through the engine's NVIDIA runtime ----------------------------------
# Only a run that asks for the `gpu` marker keeps these (scripts/test --gpu); there a host without the GPU, the
# runtime or the image fails them (tests/services.py). This process's torch is the CPU build: nothing here uses it.

# The harness's clock and timing loop on the device, as a grade's checker uses them, printed as one line.
CUDA_CLOCK = """
import json, sys
sys.path.insert(0, "/opt/harness")
import torch
from gradelib import timing
x = torch.randn(1 << 22, device="cuda")
samples = timing.measure(lambda: x * 2, timing.CudaClock(), budget_s=1.0)
print("samples", json.dumps({"device": torch.cuda.get_device_name(), "ms": samples}))
"""


@pytest.fixture(scope="module")
def gpu_image() -> str:
    return DockerBackend(repo_root=REPO, image_overrides={}).image_for("triton-gpu")


@pytest.mark.docker
@pytest.mark.gpu
def test_the_cuda_clock_measures_a_real_kernel(docker_client, gpu_image, no_leftovers) -> None:
    """In the image's CUDA torch, with the GPU settings of a grade (the device request, the exec scratch)."""
    options = replace(LIMITS, memory_mb=8192, pids=256).docker_options("triton-gpu")
    logs = _run(docker_client, gpu_image, {**options, "environment": {"HOME": "/tmp"}}, ["python3", "-c", CUDA_CLOCK])
    line = next((line for line in logs.splitlines() if line.startswith("samples ")), None)
    assert line, logs
    measured = json.loads(line.removeprefix("samples "))
    assert measured["ms"] and all(ms > 0 and math.isfinite(ms) for ms in measured["ms"]), measured


@pytest.mark.docker
@pytest.mark.gpu
@pytest.mark.parametrize("task", list(L1_TASKS))
def test_every_l1_reference_solution_passes_with_timings_on_a_gpu_host(task, no_leftovers) -> None:
    """Graded as the platform grades it there: the Docker backend, the GPU runtime and the task's own limits (the
    first compile, CUDA's start-up and its threads must fit in them)."""
    backend = DockerBackend(repo_root=REPO, image_overrides={})
    result = backend.grade(_request("triton-gpu", task, Limits.from_mapping(L1_TASKS[task]["limits"])))
    assert result.status == "passed", result.message
    timed = result.extra.get("timing")
    assert timed, result
    for entry in timed:
        assert entry["median_ms"] > 0 and math.isfinite(entry.get("speedup", math.nan)), entry
