"""Warm, single-use sandbox containers: started before their submission arrives, used for one grade, destroyed.

A pooled container is created exactly like a cold one (`Limits.docker_options(runtime)`, the same image, user,
capabilities and mounts) and runs `grade.py --wait`: its checker and its unprivileged candidate interpreter start
and import torch and triton, then wait for one submission (grader contract, section 2). The backend takes one
container per grade and removes it afterwards whatever happened; a background thread keeps `size` containers
per pool key, recycles those that waited longer than `max_age_s`, and reaps containers of dead owners.

A pool key is what a container fixes at creation: the runtime, the image, and the limits the container itself
enforces (memory, pids, cpus, scratch size). The wall limit and output caps are the task's, applied by the
harness when the submission arrives. Keys are learned from the grades asked for (the first grade of a key is
cold) and forgotten after `key_idle_s` without one.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import docker.errors
import requests.exceptions

from certplatform.sandbox.limits import Limits

log = logging.getLogger(__name__)
LABEL = "certplatform.sandbox"  # every grading container: its value names the grade (or "pool")
OWNER_LABEL = "certplatform.owner"  # "<host>:<pid>" of the process that created the container
OWNER_START_LABEL = "certplatform.owner-start"  # that process's start time, so a reused pid is not mistaken for it
POOL_LABEL = "certplatform.pool"  # a warm container's pool key
# A warm candidate starts with a CPU limit for this wall time and lowers it to its task's when the submission
# arrives (a process may lower its own limits, never raise them).
POOL_WALL_S = 3600
POOL_OUTPUT_KB = 64
WARM_MARKER = b"certplatform-harness: warm"  # what a pooled harness prints on stderr when it waits (warm.py)
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
# How often the pool asks the engine whether an importing container is warm yet (an inspection and a log read
# each). Only the choice among waiting containers depends on it: a grade may take one still importing, whose
# harness then waits for its own imports.
IMPORTING_POLL_S = 1.0


@dataclass(frozen=True)
class PoolKey:
    runtime: str
    image: str
    limits: Limits  # the container-level limits; wall_seconds and output_kb are the pool's own

    @classmethod
    def of(cls, runtime: str, image: str, limits: Limits) -> PoolKey:
        return cls(runtime, image, replace(limits, wall_seconds=POOL_WALL_S, output_kb=POOL_OUTPUT_KB))

    @property
    def label(self) -> str:
        lim = self.limits
        return f"{self.runtime}/{lim.memory_mb}m/{lim.pids}p/{lim.cpus:g}c/{lim.file_size_mb}f"


@dataclass
class Warm:
    """One pooled container, as the pool knows it."""

    id: str
    key: PoolKey
    created: float  # time.monotonic()
    warm: bool = False  # its harness said so in the log: imports done, waiting for the submission


# -- owners --------------------------------------------------------------------------------------------------


def process_start(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (/proc/PID/stat field 22); None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_labels() -> dict[str, str]:
    """Labels naming this process as a container's owner."""
    pid = os.getpid()
    return {OWNER_LABEL: f"{socket.gethostname()}:{pid}", OWNER_START_LABEL: process_start(pid) or ""}


def owner_gone(labels: dict[str, str], running_containers: frozenset[str] = frozenset()) -> bool:
    """True when the labels name a process of this host that no longer runs, or a worker that ran in a container
    of this engine (its hostname is the container's short id, as Docker and Compose name them) that runs no more:
    recreated with `docker compose up`, it comes back with a new hostname and would never reap what the old one
    left. `running_containers` holds the short ids of the engine's running containers. Any other host's owners
    are theirs to reap."""
    host, _, pid = labels.get(OWNER_LABEL, "").rpartition(":")
    if not pid.isdigit():
        return False
    if host != socket.gethostname():
        return _CONTAINER_HOSTNAME.fullmatch(host) is not None and host not in running_containers
    started = process_start(int(pid))
    return started is None or started != labels.get(OWNER_START_LABEL, started)


_CONTAINER_HOSTNAME = re.compile(r"[0-9a-f]{12}")


# -- containers as the engine lists them ---------------------------------------------------------------------


@dataclass(frozen=True)
class ListedContainer:
    """A container as the engine's list reports it: no inspection behind it."""

    id: str
    name: str
    labels: dict[str, str]

    @property
    def short_id(self) -> str:
        return self.id[:12]


def list_containers(client, label: str | list[str] | None = None, *, all: bool = True) -> list[ListedContainer]:
    """The containers carrying `label` (one filter or a list of them, or any container without one), running only
    unless `all`. The list is sparse: docker-py would otherwise inspect each listed container, and a single-use
    sandbox removed between the list and its inspection (which happens all the time while a pool refills) raises
    NotFound. Raises what the engine raises (ENGINE_ERRORS)."""
    found = client.containers.list(all=all, filters={"label": label} if label else None, sparse=True)
    return [
        ListedContainer(c.id, ((c.attrs.get("Names") or [c.id])[0]).lstrip("/"), dict(c.attrs.get("Labels") or {}))
        for c in found
    ]


def remove_container(client, container_id: str) -> bool:
    """Remove the container with its volumes, running or not; False when it was gone already. Any other engine
    error is raised (ENGINE_ERRORS)."""
    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        return False
    return True


def says_warm(client, container_id: str) -> bool:
    """Whether a pooled container's harness has said it waits, imports done (its log; warm.py). Raises NotFound
    for a container that is gone."""
    return WARM_MARKER in client.api.logs(container_id, stdout=False, stderr=True, tail=20)


def reap_orphans(client) -> list[str]:
    """Remove every sandbox container of this host whose owner process is gone (killed between creating and
    removing it, or a pool that was never closed); the names of those removed."""
    removed = []
    try:
        found = list_containers(client, OWNER_LABEL)
        running = frozenset(c.short_id for c in list_containers(client, all=False))
    except ENGINE_ERRORS as exc:
        log.warning("could not list sandbox containers to reap: %s", exc)
        return removed
    for container in found:
        if LABEL in container.labels and owner_gone(container.labels, running):
            try:
                if remove_container(client, container.id):
                    removed.append(container.name)
            except ENGINE_ERRORS as exc:
                log.warning("could not reap sandbox container %s: %s", container.name, exc)
    if removed:
        log.warning("reaped %d sandbox container(s) of dead owners: %s", len(removed), ", ".join(removed))
    return removed


# -- the pool ------------------------------------------------------------------------------------------------


@dataclass
class SandboxPool:
    """Keeps `size` warm containers per key, for one process (see the module docstring)."""

    start_container: Any  # (client, key) -> container id: creates and starts one warm container
    client_factory: Any  # () -> docker client (one per thread; closed by the caller)
    size: int
    max_age_s: float
    reap_interval_s: float = 60.0
    key_idle_s: float = 3600.0
    on_warm: Any = None  # (client, container id) -> None: done once a container is warm, before a grade takes it
    _ready: dict[PoolKey, deque[Warm]] = field(default_factory=dict)
    _starting: dict[PoolKey, int] = field(default_factory=dict)
    _used: dict[PoolKey, float] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _closed: bool = False
    _last_reap: float = 0.0
    _last_error: str = ""
    _used_up: list[str] = field(default_factory=list)  # containers that graded, to remove in the background

    def take(self, key: PoolKey) -> Warm | None:
        """A container of `key` for one grade (never handed out again), the warm ones first; None if none."""
        with self._cond:
            self._used[key] = time.monotonic()
            queue = self._ready.get(key) or deque()
            chosen = next((w for w in queue if w.warm), None) or (queue[0] if queue else None)
            if chosen is not None:
                queue.remove(chosen)
            self._cond.notify_all()
        self._ensure_thread()
        return chosen

    def discard(self, container_id: str) -> None:
        """Remove a container that has graded, in the background: its result is read, so the grade need not wait
        for the engine. Never handed out again; if this process dies first, the reaper removes it (owner label)."""
        with self._cond:
            closed = self._closed
            if not closed:
                self._used_up.append(container_id)
                self._cond.notify_all()
        if closed:
            self._remove([container_id])
            return
        self._ensure_thread()

    def want(self, key: PoolKey) -> None:
        """Keep `key` warm from now on, before its first grade."""
        with self._cond:
            self._used.setdefault(key, time.monotonic())
            self._cond.notify_all()
        self._ensure_thread()

    def status(self) -> dict[str, Any]:
        """Per runtime: warm containers, ones still importing, ones being created, and the configured size."""
        with self._cond:
            out: dict[str, Any] = {}
            for key in set(self._ready) | set(self._starting) | set(self._used):
                entry = out.setdefault(
                    key.runtime, {"warm": 0, "importing": 0, "creating": 0, "size": self.size, "keys": 0}
                )
                queue = self._ready.get(key, ())
                entry["warm"] += sum(1 for w in queue if w.warm)
                entry["importing"] += sum(1 for w in queue if not w.warm)
                entry["creating"] += self._starting.get(key, 0)
                entry["keys"] += 1 if key in self._used else 0
            for entry in out.values():
                entry["max_age_s"] = self.max_age_s
                if self._last_error:
                    entry["last_error"] = self._last_error[:200]
            return out

    @property
    def closed(self) -> bool:
        return self._closed

    def warm_count(self, key: PoolKey) -> int:
        """Containers of `key` that have their imports done and wait for a submission."""
        with self._cond:
            return sum(1 for w in self._ready.get(key, ()) if w.warm)

    def wanted(self) -> list[PoolKey]:
        """The keys kept warm."""
        with self._cond:
            return list(self._used)

    def held(self) -> set[str]:
        """Ids of the containers waiting in this pool (not yet handed to a grade)."""
        with self._cond:
            return {w.id for queue in self._ready.values() for w in queue}

    def close(self) -> None:
        """Stop refilling and remove every container this pool holds."""
        with self._cond:
            self._closed = True
            held = [w.id for queue in self._ready.values() for w in queue]
            self._ready.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._cond:
            held += self._used_up
            self._used_up = []
        if held:
            self._remove(held)

    # -- background ----------------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="sandbox-pool", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        client = None
        while True:
            with self._cond:
                if self._closed:
                    break
            try:
                if client is None:
                    client = self.client_factory()
                self._tick(client)
                self._last_error = ""
            except Exception as exc:  # the engine went away: keep trying, grades fall back to cold containers
                self._last_error = f"{type(exc).__name__}: {exc}"
                log.warning("sandbox pool: %s", self._last_error)
                if client is not None:
                    client.close()
                client = None
                with self._cond:
                    self._cond.wait(timeout=5)
                continue
            with self._cond:
                if not self._closed and not self._wants_more():
                    # Poll more often while containers are importing, to notice them warm.
                    importing = any(not w.warm for q in self._ready.values() for w in q)
                    self._cond.wait(timeout=IMPORTING_POLL_S if importing else 5)
        if client is not None:
            client.close()

    def _wants_more(self) -> bool:
        return bool(self._used_up) or any(self._missing(key) > 0 for key in self._used)

    def _missing(self, key: PoolKey) -> int:
        return self.size - len(self._ready.get(key, ())) - self._starting.get(key, 0)

    def _tick(self, client) -> None:
        with self._cond:
            used_up, self._used_up = self._used_up, []
        if used_up:
            self._remove(used_up, client)
        now = time.monotonic()
        if now - self._last_reap >= self.reap_interval_s:
            self._last_reap = now
            reap_orphans(client)
        self._recycle(now)
        self._notice_warm(client)
        with self._cond:
            for key in [k for k, used in self._used.items() if now - used > self.key_idle_s]:
                del self._used[key]
            key = next((k for k in self._used if self._missing(k) > 0), None)
            if key is None:
                return
            self._starting[key] = self._starting.get(key, 0) + 1
        try:
            container_id = self.start_container(client, key)
        finally:
            with self._cond:
                self._starting[key] -= 1
        with self._cond:
            if self._closed:
                held = [container_id]
            else:
                self._ready.setdefault(key, deque()).append(Warm(container_id, key, time.monotonic()))
                held = []
        if held:
            self._remove(held, client)

    def _recycle(self, now: float) -> None:
        """Containers that waited longer than max_age_s, and all of a key nobody asked for lately, are removed."""
        with self._cond:
            old = []
            for key, queue in self._ready.items():
                for warm in list(queue):
                    if now - warm.created > self.max_age_s or key not in self._used:
                        queue.remove(warm)
                        old.append(warm.id)
        if old:
            self._remove(old)

    def _notice_warm(self, client) -> None:
        with self._cond:
            importing = [w for q in self._ready.values() for w in q if not w.warm]
        for warm in importing:
            try:
                container = client.containers.get(warm.id)
                if container.status != "running":
                    self._drop(warm)
                elif says_warm(client, warm.id):
                    if self.on_warm is not None:
                        self.on_warm(client, warm.id)
                    warm.warm = True
            except docker.errors.NotFound:
                self._drop(warm)

    def _drop(self, warm: Warm) -> None:
        """A pooled container that stopped before it was used (its warm start failed): removed, not handed out."""
        with self._cond:
            queue = self._ready.get(warm.key)
            if queue is not None and warm in queue:
                queue.remove(warm)
        log.warning("sandbox pool: container %s stopped before use", warm.id[:12])
        self._remove([warm.id])

    def _remove(self, ids: list[str], client=None) -> None:
        own = client is None
        client = client or self.client_factory()
        try:
            for container_id in ids:
                try:
                    remove_container(client, container_id)
                except ENGINE_ERRORS as exc:  # the owner label lets the reaper finish the job
                    log.error("could not remove pooled container %s: %s", container_id[:12], exc)
        finally:
            if own:
                client.close()
