"""Grade in a fresh, hardened, single-use container: create, copy in, start, wait, read results, always remove."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import tarfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import Mount

from certplatform.sandbox import build_status, images
from certplatform.sandbox.backends.base import BackendUnavailable, GradeRequest, layout_tar
from certplatform.sandbox.limits import runtime_profile
from certplatform.sandbox.results import MAX_RESULTS_BYTES, GradeResult, not_gradable, parse_results

log = logging.getLogger(__name__)
HARNESS_COMMAND = ["python3", "/opt/harness/grade.py", "--quiet"]
HARNESS_FAILED = 70  # grader contract: the harness itself failed, so nothing was graded
LABEL = "certplatform.sandbox"
# The oldest engine API we support (Debian bookworm's docker.io 20.10); newer engines accept it. A fixed version
# also spares the SDK a probe in its constructor, which leaks its connection when the engine does not answer.
DOCKER_API_VERSION = "1.41"


@dataclass
class DockerBackend:
    name = "docker"
    isolated = True
    repo_root: Path
    image_overrides: dict[str, str]
    timeout_s: float = 30  # for each engine API call, not the grading run
    runtime: str = "triton-cpu"  # the runtime whose image the health check looks for (SANDBOX_RUNTIME)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DockerBackend:
        return cls(
            repo_root=Path(config["SANDBOX_REPO_ROOT"]),
            image_overrides=dict(config.get("SANDBOX_IMAGES") or {}),
            runtime=config.get("SANDBOX_RUNTIME") or "triton-cpu",
        )

    def client(self) -> docker.DockerClient:
        _probe_engine_socket()
        try:
            return docker.from_env(timeout=int(self.timeout_s), version=DOCKER_API_VERSION)
        except docker.errors.DockerException as exc:
            raise BackendUnavailable(f"the Docker engine does not answer: {exc}") from exc

    def image_for(self, runtime: str) -> str:
        return self.image_overrides.get(runtime) or images.image_tag(self.repo_root, runtime)

    def image_ready(self, tag: str) -> bool:
        """Whether the engine has `tag`; BackendUnavailable when the engine cannot be asked."""
        try:
            with closing(self.client()) as client:
                return images.image_exists(client, tag)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise BackendUnavailable(f"the Docker engine does not answer: {exc}") from exc

    def health(self) -> str:
        """'ok' when the engine answers and the configured runtime's image exists."""
        try:
            with closing(self.client()) as client:
                client.ping()
                tag = self.image_for(self.runtime)
                return "ok" if images.image_exists(client, tag) else build_status.image_missing(tag)
        except (BackendUnavailable, docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            return f"error: {type(exc).__name__}"

    def grade(self, request: GradeRequest) -> GradeResult:
        started = time.monotonic()
        container = None
        client = None
        try:
            profile = runtime_profile(request.runtime)
            options = request.limits.docker_options(request.runtime)
        except ValueError as exc:
            return not_gradable(str(exc), backend=self.name)
        try:
            client = self.client()
            tag = self.image_for(request.runtime)
            if not images.image_exists(client, tag):
                return not_gradable(
                    f"sandbox image {tag} is missing: run `certplatform sandbox build`", backend=self.name
                )
            container = client.containers.create(
                tag,
                HARNESS_COMMAND,
                # /grade is an anonymous volume: put_archive cannot write into a read-only root or a tmpfs mount.
                mounts=[Mount(target="/grade", source=None, type="volume")],
                labels={LABEL: request.label or "grade"},
                stdin_open=False,
                detach=True,
                **options,
            )
            if not container.put_archive("/grade", layout_tar(request)):
                return not_gradable("could not copy the submission into the sandbox", backend=self.name)
            runtime_json = profile.runtime_json()
            if runtime_json is not None and not container.put_archive("/grade", _runtime_tar(runtime_json)):
                return not_gradable("could not copy the runtime description into the sandbox", backend=self.name)
            container.start()
            timed_out = False
            try:
                exit_code = container.wait(timeout=request.limits.kill_after_s)["StatusCode"]
            except requests.exceptions.ConnectionError:  # the wait timed out: the run overstayed even the grace
                timed_out = True
                container.kill()
                exit_code = None
            duration = time.monotonic() - started
            container.reload()
            oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
            return self._result(container, exit_code, timed_out, oom, duration, request)
        except (docker.errors.DockerException, requests.exceptions.RequestException, BackendUnavailable) as exc:
            log.warning("sandbox failure for %s: %s", request.label, exc)
            return not_gradable(
                f"the sandbox failed: {type(exc).__name__}: {exc}"[:500], time.monotonic() - started, self.name
            )
        finally:
            if container is not None:
                try:
                    container.remove(force=True, v=True)
                except docker.errors.DockerException as exc:  # logged; the label lets an operator sweep leftovers
                    log.error("could not remove sandbox container %s: %s", container.id, exc)
            if client is not None:
                client.close()

    def _result(self, container, exit_code, timed_out, oom, duration, request) -> GradeResult:
        raw = _read_results(container)
        if exit_code == HARNESS_FAILED:
            # The harness states its reason in results.json (e.g. a GPU run on a container without a GPU).
            log.error(
                "harness error for %s: %s %s",
                request.label,
                _harness_message(raw),
                container.logs(stdout=False, tail=50),
            )
            return not_gradable("the grader itself failed; this submission is not counted", duration, self.name)
        if raw is not None:
            try:
                return parse_results(raw, duration, self.name)
            except ValueError as exc:
                log.error("unreadable results for %s: %s", request.label, exc)
                return not_gradable("the grader produced no readable result", duration, self.name)
        if timed_out:
            limit = request.limits.wall_seconds
            return GradeResult(
                "timeout",
                0.0,
                (),
                f"the run exceeded the {limit} s time limit and was stopped",
                duration_s=duration,
                backend=self.name,
            )
        if oom or exit_code == 137:
            mb = request.limits.memory_mb
            return GradeResult(
                "error",
                0.0,
                (),
                f"the run exceeded the {mb} MB memory limit and was stopped",
                duration_s=duration,
                backend=self.name,
            )
        return not_gradable(f"the grader wrote no result (exit code {exit_code})", duration, self.name)


def _probe_engine_socket() -> None:
    """Fail fast, with a clear message, when a local engine socket does not accept connections.

    The SDK would find out on its first call too, but leaks the half-open socket when it does.
    """
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return
    path = host[len("unix://") :]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError as exc:
            raise BackendUnavailable(f"the Docker engine does not answer at {path}: {exc.strerror or exc}") from exc


def _runtime_tar(data: bytes) -> bytes:
    """/grade/runtime.json owned by root and 0600, like every file the contract says the backend copies in."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("runtime.json")
        info.size, info.mode, info.uid, info.gid = len(data), 0o600, 0, 0
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _harness_message(raw: bytes | None) -> str:
    try:
        message = json.loads(raw or b"{}").get("message")
    except (ValueError, AttributeError):
        return ""
    return message[:500] if isinstance(message, str) else ""


def _read_results(container) -> bytes | None:
    try:
        stream, _stat = container.get_archive("/grade/results/results.json")
    except docker.errors.NotFound:
        return None
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.next()
        if member is None or not member.isfile() or member.size > MAX_RESULTS_BYTES:
            return None
        handle = tar.extractfile(member)
        return handle.read() if handle else None
