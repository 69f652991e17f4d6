"""Grade in a fresh, hardened, single-use container: create, copy in, start, wait, read results, always remove."""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
import socket
import struct
import tarfile
import threading
import time
from contextlib import closing, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from docker.types import Mount

from certplatform.sandbox import build_status, images
from certplatform.sandbox import pool as pool_module
from certplatform.sandbox.backends.base import BackendUnavailable, GradeRequest, layout_tar
from certplatform.sandbox.harness_data import load
from certplatform.sandbox.limits import Limits, runtime_profile
from certplatform.sandbox.results import MAX_RESULTS_BYTES, GradeResult, not_gradable, parse_results

log = logging.getLogger(__name__)
HARNESS_COMMAND = ["python3", "/opt/harness/grade.py", "--quiet"]
HARNESS_FAILED = 70  # grader contract: the harness itself failed, so nothing was graded
# A pooled harness's stdin frame and stdout result line, as the harness's own delivery module writes and reads them.
_DELIVERY = load("delivery")
RESULT_PREFIX = _DELIVERY.RESULT_PREFIX.encode()
_FRAME_HEADER = struct.Struct(">BxxxL")  # the engine's attach stream without a TTY: stream id, 3 pad bytes, size
_STDOUT = 1
# CPU weights (relative shares when the cores are contended; the `cpus` limit is unaffected): a pooled container
# imports torch and triton at a quarter of a grading container's weight, so a refill started by one grade does
# not slow that grade or the others down, yet still progresses on a fully loaded host. Once warm (idle until its
# submission arrives) the pool gives it the engine's default weight, so that a grade need not ask for it; one
# taken before it was warm gets it when it is taken.
WAITING_CPU_SHARES = 256
GRADING_CPU_SHARES = 1024
LABEL = pool_module.LABEL
# The oldest engine API we support (Debian bookworm's docker.io 20.10); newer engines accept it. A fixed version
# also spares the SDK a probe in its constructor, which leaks its connection when the engine does not answer.
DOCKER_API_VERSION = "1.41"
# One pool per process and configuration: a forked worker process starts its own (the owner label is per pid).
_POOLS: dict[tuple, pool_module.SandboxPool] = {}
_POOLS_LOCK = threading.Lock()


@dataclass
class DockerBackend:
    name = "docker"
    isolated = True
    repo_root: Path
    image_overrides: dict[str, str]
    timeout_s: float = 30  # for each engine API call, not the grading run
    runtime: str = "triton-cpu"  # the runtime whose image the health check looks for (SANDBOX_RUNTIME)
    pool_size: int = 0  # warm single-use containers kept per pool key (0: every grade starts a cold container)
    pool_max_age_s: float = 600  # a warm container that waited longer is replaced
    pool_preload: tuple[str, ...] = ("torch", "triton", "triton.language")  # imported by the waiting candidate
    pool_reap_s: float = 60  # how often the pool removes containers whose owner process is gone
    pool_label: str = "pool"  # the sandbox label of pooled containers (tests tell their own apart)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DockerBackend:
        return cls(
            repo_root=Path(config["SANDBOX_REPO_ROOT"]),
            image_overrides=dict(config.get("SANDBOX_IMAGES") or {}),
            runtime=config.get("SANDBOX_RUNTIME") or "triton-cpu",
            pool_size=int(config.get("SANDBOX_POOL_SIZE") or 0),
            pool_max_age_s=float(config.get("SANDBOX_POOL_MAX_AGE_S") or 600),
            pool_preload=tuple(config.get("SANDBOX_POOL_PRELOAD") or cls.pool_preload),
            pool_reap_s=float(config.get("SANDBOX_POOL_REAP_S") or 60),
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

    def pool(self) -> pool_module.SandboxPool | None:
        """This process's pool for this configuration (None when pooling is off); started on first use."""
        if self.pool_size <= 0:
            return None
        ident = (
            os.getpid(),
            self.pool_label,
            str(self.repo_root),
            tuple(sorted(self.image_overrides.items())),
            self.pool_size,
            self.pool_max_age_s,
            self.pool_preload,
        )
        with _POOLS_LOCK:
            found = _POOLS.get(ident)
            if found is None or found.closed:
                found = _POOLS[ident] = pool_module.SandboxPool(
                    start_container=self._start_warm,
                    client_factory=self.client,
                    on_warm=_grading_weight,
                    size=self.pool_size,
                    max_age_s=self.pool_max_age_s,
                    reap_interval_s=self.pool_reap_s,
                )
            return found

    def pool_status(self) -> dict[str, Any] | None:
        pool = self.pool()
        return pool.status() if pool is not None else None

    def warm_up(self, runtime: str, limits: Limits) -> None:
        """Keep containers for these limits warm before the first grade asks for them."""
        pool = self.pool()
        if pool is not None:
            pool.want(pool_module.PoolKey.of(runtime, self.image_for(runtime), limits))

    def reap(self) -> list[str]:
        """Remove this host's sandbox containers whose owner process is gone."""
        with closing(self.client()) as client:
            return pool_module.reap_orphans(client)

    def _start_warm(self, client, key: pool_module.PoolKey) -> str:
        """Create and start one pooled container: the hardening of every grade, the pool's limits copied in."""
        profile = runtime_profile(key.runtime)
        command = [*HARNESS_COMMAND, "--wait", str(int(self.pool_max_age_s) + 60)]
        command += ["--preload", ",".join(self.pool_preload)]
        container = self._create(client, key.image, command, key.limits, key.runtime, self.pool_label, key)
        try:
            limits_json = json.dumps(key.limits.as_dict()).encode()
            if not container.put_archive("/grade", _root_file_tar("limits.json", limits_json)):
                raise BackendUnavailable("could not copy the pool's limits into the sandbox")
            runtime_json = profile.runtime_json()
            if runtime_json is not None and not container.put_archive("/grade", _runtime_tar(runtime_json)):
                raise BackendUnavailable("could not copy the runtime description into the sandbox")
            container.start()
        except BaseException:
            container.remove(force=True, v=True)
            raise
        return container.id

    def _create(self, client, tag: str, command: list[str], limits: Limits, runtime: str, label: str, key=None):
        """A grading container, cold or pooled (`key`): the same options, mounts and owner labels for both."""
        labels = {LABEL: label, **pool_module.owner_labels()}
        weight = {}
        if key is not None:
            labels[pool_module.POOL_LABEL] = key.label
            weight = {"cpu_shares": WAITING_CPU_SHARES}
        return client.containers.create(
            tag,
            command,
            # /grade is an anonymous volume: put_archive cannot write into a read-only root or a tmpfs mount.
            mounts=[Mount(target="/grade", source=None, type="volume")],
            labels=labels,
            stdin_open=key is not None,  # a pooled harness receives its submission on stdin
            detach=True,
            **limits.docker_options(runtime),
            **weight,
        )

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
            request.limits.docker_options(request.runtime)  # refuses an unknown runtime before the engine is asked
        except ValueError as exc:
            return not_gradable(str(exc), backend=self.name)
        try:
            client = self.client()
            tag = self.image_for(request.runtime)
            pool = self.pool() if request.kind.warm_candidate else None
            if pool is not None:
                # A pooled container runs the image already: asking the engine for it again would only wait.
                warm = pool.take(pool_module.PoolKey.of(request.runtime, tag, request.limits))
                claimed = self._claim(client, warm) if warm is not None else None
                if claimed is not None:
                    container, weighting = claimed
                    try:
                        result = self._grade_warm(container, request, started)
                    finally:
                        if weighting is not None:
                            weighting.join()
                    if result is not None:
                        pool.discard(container.id)
                        container = None
                        return result
                    container.remove(force=True, v=True)  # it was not usable after all: grade cold
                    container = None
            if not images.image_exists(client, tag):
                return not_gradable(
                    f"sandbox image {tag} is missing: run `certplatform sandbox build`", backend=self.name
                )
            container = self._create(
                client, tag, HARNESS_COMMAND, request.limits, request.runtime, request.label or "grade"
            )
            if not container.put_archive("/grade", layout_tar(request)):
                return not_gradable("could not copy the submission into the sandbox", backend=self.name)
            runtime_json = profile.runtime_json()
            if runtime_json is not None and not container.put_archive("/grade", _runtime_tar(runtime_json)):
                return not_gradable("could not copy the runtime description into the sandbox", backend=self.name)
            container.start()
            exit_code, timed_out, oom = _wait(container, request.limits.kill_after_s)
            return self._result(container, exit_code, timed_out, oom, time.monotonic() - started, request)
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

    def _claim(self, client, warm: pool_module.Warm):
        """(The pooled container, None) if it still waits for a submission; removed and None otherwise.

        One the pool had not yet seen warm still waits at the importing CPU weight: it gets the full one from a
        thread of its own, so that the grade starts without waiting on that engine call, and that thread comes
        second in the pair (the caller joins it when the grade is done)."""
        try:
            container = client.containers.get(warm.id)
        except docker.errors.NotFound:
            return None
        if container.status == "running":
            weighting = None
            if not warm.warm:
                weighting = threading.Thread(target=self._full_weight, args=(container.id,), daemon=True)
                weighting.start()
            return container, weighting
        container.remove(force=True, v=True)
        return None

    def _full_weight(self, container_id: str) -> None:
        try:
            with closing(self.client()) as client:
                _grading_weight(client, container_id)
        except (docker.errors.DockerException, requests.exceptions.RequestException, BackendUnavailable) as exc:
            log.warning("could not give pooled container %s its grading CPU weight: %s", container_id[:12], exc)

    def _grade_warm(self, container, request: GradeRequest, started: float) -> GradeResult | None:
        """Deliver the submission to a waiting container and grade; None when the container turned out unusable
        (its harness ended before it saw the submission), so the caller grades in a cold one.

        The layout goes to the harness's stdin and its result line comes back on the same attached stream, so a
        grade costs one engine call while it runs; a harness that ends without that line is read as a cold one is.
        """
        try:
            reply = _attached_grade(container, layout_tar(request), request.limits.kill_after_s)
        except docker.errors.APIError:
            if _running(container):
                raise
            return None  # it ended while it was being claimed
        if isinstance(reply, tuple) and reply[0] != HARNESS_FAILED:
            try:
                result = parse_results(reply[1], time.monotonic() - started, self.name)
            except ValueError as exc:
                log.error("unreadable results for %s: %s", request.label, exc)
                result = not_gradable("the grader produced no readable result", time.monotonic() - started, self.name)
        else:
            timed_out = reply is _TIMED_OUT
            if timed_out:
                container.kill()
            exit_code, _killed, oom = _wait(container, request.limits.kill_after_s)
            if exit_code == warm_exit_unused():
                return None
            result = self._result(container, exit_code, timed_out, oom, time.monotonic() - started, request)
        return replace(result, extra={**result.extra, "pooled": container.short_id})

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


def close_pools() -> None:
    """Remove every warm container this process's pools hold (at exit, and when a test is done with a pool)."""
    with _POOLS_LOCK:
        mine = [key for key in _POOLS if key[0] == os.getpid()]
        pools = [_POOLS.pop(key) for key in mine]
    for pool in pools:
        pool.close()


atexit.register(close_pools)


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


def _wait(container, kill_after_s: float) -> tuple[int | None, bool, bool]:
    """Wait for the harness to end: (exit code, whether it had to be killed, whether it ran out of memory)."""
    timed_out = False
    try:
        exit_code = container.wait(timeout=kill_after_s)["StatusCode"]
    except requests.exceptions.ConnectionError:  # the wait timed out: the run overstayed even the grace
        timed_out = True
        container.kill()
        exit_code = None
    container.reload()
    return exit_code, timed_out, bool(container.attrs.get("State", {}).get("OOMKilled"))


def _grading_weight(client, container_id: str) -> None:
    client.api.update_container(container_id, cpu_shares=GRADING_CPU_SHARES)


_TIMED_OUT = "timed out"


def _attached_grade(container, tar: bytes, timeout_s: float) -> tuple[int, bytes] | str | None:
    """Write the layout to a pooled harness's stdin and read its result line: (exit code, results JSON).

    _TIMED_OUT when `timeout_s` passed first (the container still runs); None when the harness ended without a
    result line (the caller reads what it left)."""
    deadline = time.monotonic() + timeout_s
    stream = container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    sock = getattr(stream, "_sock", stream)
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        sock.sendall(_DELIVERY.frame(tar))
        pending = b""
        while True:
            head = _recv_exactly(sock, _FRAME_HEADER.size, deadline)
            if head is None:
                return None
            kind, size = _FRAME_HEADER.unpack(head)
            data = _recv_exactly(sock, size, deadline)
            if data is None:
                return None
            if kind != _STDOUT:
                continue
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.startswith(RESULT_PREFIX):
                    code, _, text = line[len(RESULT_PREFIX) :].partition(b" ")
                    return (int(code) if code.isdigit() else HARNESS_FAILED), text
            if len(pending) > MAX_RESULTS_BYTES + len(RESULT_PREFIX) + 8:
                return None  # no line this long is a result; what the harness left is read instead
    except TimeoutError:
        return _TIMED_OUT
    except OSError:
        return None
    finally:
        for handle in (sock, stream):  # the SocketIO wrapper does not close the connection under it
            with suppress(OSError):
                handle.close()


def _recv_exactly(sock, size: int, deadline: float) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _running(container) -> bool:
    try:
        container.reload()
    except docker.errors.NotFound:
        return False
    return container.status == "running"


def warm_exit_unused() -> int:
    """The exit code of a pooled harness that ended without a submission (gradelib/warm.py EXIT_UNUSED)."""
    return 75


def _root_file_tar(name: str, data: bytes) -> bytes:
    """One file owned by root and 0600, like every file the contract says the backend copies in."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(data), 0o600, 0, 0
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _runtime_tar(data: bytes) -> bytes:
    """/grade/runtime.json owned by root and 0600."""
    return _root_file_tar("runtime.json", data)


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
