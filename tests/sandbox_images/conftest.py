"""Fixtures for the sandbox image tests: a Docker client, the built triton-cpu image, a hardened runner."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest
from docker import DockerClient

from certplatform.sandbox import images, pool
from certplatform.sandbox.limits import Limits

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_LABEL = "org.certplatform.test"
# Limits of the size the tests below measure against (a 256 MiB scratch, 2 GiB of memory).
HARDENED = Limits(wall_seconds=120, memory_mb=2048, pids=256, cpus=1, file_size_mb=256, output_kb=64)


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str
    run_s: float  # from start() until the container exited


@pytest.fixture(scope="session")
def docker_client() -> Iterator[DockerClient]:
    client = docker.from_env()  # the tests are marked `docker`: the engine answered (tests/services.py)
    yield client
    client.close()


@pytest.fixture(scope="session")
def runtime_image(docker_client: DockerClient) -> str:
    """The triton-cpu image for this checkout, built once per content hash and kept between runs."""
    return images.build_runtime_image(docker_client, "triton-cpu", REPO_ROOT)


@pytest.fixture
def run_hardened(docker_client: DockerClient, runtime_image: str) -> Iterator[Callable[..., RunResult]]:
    """Run a command in a container with the options every grading container gets (`Limits.docker_options()`,
    so a regression there fails these tests too), and always remove it."""
    run_id = uuid.uuid4().hex

    def run(command: list[str], timeout: float = 120) -> RunResult:
        container = docker_client.containers.create(
            runtime_image,
            command,
            labels={TEST_LABEL: run_id},
            **HARDENED.docker_options("triton-cpu"),
        )
        try:
            started = time.monotonic()
            container.start()
            status = container.wait(timeout=timeout)
            run_s = time.monotonic() - started
            output = container.logs(stdout=True, stderr=True).decode(errors="replace")
        finally:
            container.remove(force=True, v=True)
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(container.id)
        return RunResult(int(status["StatusCode"]), output, run_s)

    yield run
    leftovers = pool.list_containers(docker_client, f"{TEST_LABEL}={run_id}")
    assert leftovers == [], f"containers left behind: {[c.short_id for c in leftovers]}"
