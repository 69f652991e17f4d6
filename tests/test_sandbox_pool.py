"""The pool of warm single-use sandbox containers, for real: one container per grade and never another, refilled
in the background, recycled when it waited too long, reported by /healthz; and the reaper that removes sandbox
containers whose owner process is gone. (The grading tests themselves run against pooled containers in
test_docker_sandbox.py.)"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from contextlib import closing
from dataclasses import replace

import pytest

from certplatform.sandbox import images, kinds, pool
from certplatform.sandbox.backends.base import GradeRequest
from certplatform.sandbox.backends.docker_backend import GRADING_CPU_SHARES, WAITING_CPU_SHARES, DockerBackend
from tests.exam_fixtures import REPO, TASKS, source
from tests.test_docker_sandbox import _limits

pytestmark = pytest.mark.docker
RUN = f"pytest-pool-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def engine():
    import docker

    client = docker.from_env(timeout=600)  # the tests are marked `docker`: the engine answered
    images.build_runtime_image(client, "triton-cpu", REPO)
    yield client
    for container in pool.list_containers(client, pool.LABEL):
        if container.labels.get(pool.LABEL, "").startswith(RUN):
            pool.remove_container(client, container.id)
    client.close()


def _pooled(**options) -> DockerBackend:
    return DockerBackend(repo_root=REPO, image_overrides={}, pool_size=1, pool_label=f"{RUN}-pool", **options)


def _request(code: str) -> GradeRequest:
    return GradeRequest(
        code=code,
        tests_dir=TASKS / "vector_add" / "tests",
        kind=kinds.get("triton_op"),
        runtime="triton-cpu",
        limits=_limits("vector_add"),
        label=f"{RUN}-grade",
    )


def _key(backend: DockerBackend) -> pool.PoolKey:
    return pool.PoolKey.of("triton-cpu", backend.image_for("triton-cpu"), _limits("vector_add"))


def _wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _exists(client, container_id: str) -> bool:
    import docker

    try:
        client.containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False


def test_each_grade_gets_its_own_container_and_it_is_destroyed(engine) -> None:
    backend = _pooled()
    try:
        backend.warm_up("triton-cpu", _limits("vector_add"))
        sandbox = backend.pool()
        _wait_until(lambda: sandbox.warm_count(_key(backend)), 300, "a warm container")
        waiting = sandbox.held()
        first = backend.grade(_request(source("vector_add")))
        assert (first.status, first.score) == ("passed", 1.0) and first.extra["pooled"]
        assert any(cid.startswith(first.extra["pooled"]) for cid in waiting)
        # The pool refills with a new container; the one that graded is gone.
        _wait_until(lambda: sandbox.warm_count(_key(backend)), 300, "the refill")
        assert not _exists(engine, first.extra["pooled"])
        second = backend.grade(_request(source("vector_add", "starter.py")))
        assert second.status == "failed" and second.extra["pooled"] != first.extra["pooled"]
        # Removed by the pool's thread once its result was read, not by the grade itself.
        _wait_until(lambda: not _exists(engine, second.extra["pooled"]), 60, "the removal of a used container")
        # The contract's fields are there, measured inside the pooled container as in a cold one.
        assert first.compute_s and all(t.compute_s is not None for t in first.tests)
        status = backend.pool_status()["triton-cpu"]
        assert status["size"] == 1 and status["keys"] == 1
    finally:
        backend.pool().close()
    labelled = pool.list_containers(engine, f"{pool.LABEL}={RUN}-pool")
    assert labelled == [], "closing the pool removes what it held"


def test_a_pooled_container_imports_at_a_lower_cpu_weight_and_grades_at_the_full_one(engine) -> None:
    backend = _pooled()
    try:
        backend.warm_up("triton-cpu", _limits("vector_add"))
        sandbox = backend.pool()
        (waiting,) = _wait_until(sandbox.held, 300, "a pooled container")
        host_config = engine.api.inspect_container(waiting)["HostConfig"]
        assert host_config["CpuShares"] == WAITING_CPU_SHARES < GRADING_CPU_SHARES
        # The weight is all that differs from a grade's options: the CPU limit itself is the task's.
        assert host_config["NanoCpus"] == _limits("vector_add").docker_options()["nano_cpus"]
        warm = sandbox.take(_key(backend))
        with closing(backend.client()) as client:
            claimed, weighting = backend._claim(client, warm)
        assert claimed.id == waiting and weighting is not None  # taken before the pool saw it warm
        weighting.join()
        assert engine.api.inspect_container(waiting)["HostConfig"]["CpuShares"] == GRADING_CPU_SHARES
        pool.remove_container(engine, waiting)
        # The refill imports at the lower weight too; once warm (idle until a grade takes it) the pool gives it
        # the full weight itself, so that a grade need not ask the engine for it.
        _wait_until(lambda: sandbox.warm_count(_key(backend)), 300, "a warm refill")
        (refill,) = sandbox.held()
        assert engine.api.inspect_container(refill)["HostConfig"]["CpuShares"] == GRADING_CPU_SHARES
    finally:
        backend.pool().close()


def test_a_container_that_waited_too_long_is_recycled(engine) -> None:
    backend = _pooled(pool_max_age_s=5)
    sandbox = backend.pool()
    try:
        backend.warm_up("triton-cpu", _limits("vector_add"))
        first = _wait_until(lambda: sandbox.held(), 300, "a pooled container")
        second = _wait_until(lambda: sandbox.held() - first and sandbox.held(), 300, "its replacement")
        assert not first & second
        _wait_until(lambda: not any(_exists(engine, cid) for cid in first), 60, "the old one removed")
    finally:
        sandbox.close()


def test_the_harness_refuses_a_task_whose_container_limits_differ(engine) -> None:
    """A pooled container serves only tasks with its own container limits; a mismatch is the grader's failure,
    never a grade under the wrong limits."""
    backend = _pooled()
    sandbox = backend.pool()
    try:
        key = _key(backend)
        sandbox.want(key)
        _wait_until(lambda: sandbox.warm_count(key), 300, "warm")
        warm = sandbox.take(key)
        container = engine.containers.get(warm.id)
        bigger = replace(_request(source("vector_add")), limits=replace(_limits("vector_add"), pids=256))
        result = backend._grade_warm(container, bigger, time.monotonic())
        assert result.status == "not_gradable" and "not counted" in result.message
        container.remove(force=True, v=True)
    finally:
        sandbox.close()


def _labelled(client, owner: str, start: str = ""):
    """A created (never started) container labelled as a sandbox of `owner`, as a killed grading leaves one."""
    return client.containers.create(
        DockerBackend(repo_root=REPO, image_overrides={}).image_for("triton-cpu"),
        ["true"],
        labels={pool.LABEL: f"{RUN}-reap", pool.OWNER_LABEL: owner, pool.OWNER_START_LABEL: start},
        network_mode="none",
    )


def test_the_reaper_removes_containers_of_dead_owners_only(engine) -> None:
    import socket

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    me = os.getpid()
    orphan = _labelled(engine, f"{host}:{dead.pid}")
    reused_pid = _labelled(engine, f"{host}:{me}", "1")  # this pid, but another process's start time
    alive = _labelled(engine, f"{host}:{me}", pool.process_start(me))
    elsewhere = _labelled(engine, f"another-host:{dead.pid}")
    # Workers in containers of this engine, named by their short ids: one recreated (its container is gone), one
    # that still runs (its processes are its own to judge).
    worker = engine.containers.run(
        DockerBackend(repo_root=REPO, image_overrides={}).image_for("triton-cpu"),
        ["sleep", "120"],
        detach=True,
        labels={pool.LABEL: f"{RUN}-worker"},
        network_mode="none",
    )
    recreated = _labelled(engine, "0123456789ab:7")
    running_worker = _labelled(engine, f"{worker.id[:12]}:7")
    try:
        removed = pool.reap_orphans(engine)
        assert orphan.name in removed and reused_pid.name in removed and recreated.name in removed
        assert not _exists(engine, orphan.id) and not _exists(engine, reused_pid.id)
        assert not _exists(engine, recreated.id)
        assert _exists(engine, alive.id) and _exists(engine, elsewhere.id) and _exists(engine, running_worker.id)
    finally:
        for container in (alive, elsewhere, running_worker, worker):
            container.remove(force=True)


def test_a_cold_grade_labels_its_container_with_its_owner(engine) -> None:
    """So that a grading process killed between creating and removing its container leaves nothing for good."""
    backend = DockerBackend(repo_root=REPO, image_overrides={})
    with closing(backend.client()) as client:
        container = backend._create(
            client, backend.image_for("triton-cpu"), ["true"], _limits("vector_add"), "triton-cpu", f"{RUN}-cold"
        )
    try:
        assert container.labels[pool.OWNER_LABEL].endswith(f":{os.getpid()}")
        assert not pool.owner_gone(container.labels)
    finally:
        container.remove(force=True)


def test_health_reports_each_workers_pool(app, client, engine) -> None:
    from certplatform.services import grading

    app.config.update(SANDBOX_BACKEND="docker", SANDBOX_POOL_SIZE=1)
    try:
        grading.backend().warm_up("triton-cpu", _limits("vector_add"))
        beat = grading.record_heartbeat("pool-worker")
        assert beat.sandbox_pool["triton-cpu"]["size"] == 1
        body = client.get("/healthz").json
        assert body["sandbox_pool"]["pool-worker"]["triton-cpu"]["keys"] == 1
    finally:
        from certplatform.sandbox.backends.docker_backend import close_pools

        close_pools()


def test_a_worker_reaps_at_start_and_with_every_heartbeat(app, engine) -> None:
    """What celery_app's worker_ready handler and the periodic sweep's heartbeat call."""
    import socket

    from certplatform.services import grading

    app.config.update(SANDBOX_BACKEND="docker")
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = _labelled(engine, f"{socket.gethostname()}:{dead.pid}")
    assert orphan.name in grading.reap_sandboxes() and not _exists(engine, orphan.id)
    orphan = _labelled(engine, f"{socket.gethostname()}:{dead.pid}")
    grading.record_heartbeat("reaping-worker")
    assert not _exists(engine, orphan.id)
