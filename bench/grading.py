"""Grading cost, measured side by side in one run.

For each L1 reference solution: wall time in the Docker sandbox and in a local process running the same harness,
and the CPU seconds one grade needs (the local process's). Then throughput with N grading workers on the N cores
against the CPU-bound limit (cores / CPU seconds per grade). Then the whole path: a web request to the task page,
Redis, a Celery worker grading in Docker, the stored result, over the tests' own compute time (compute_s).
Last lines (targets of issue 12: <= 1.5, <= 1.05, >= 0.85):

    ratio latency/compute = X    median over the five tasks and the rounds of (request -> stored) / compute_s
    ratio docker/direct = X      total Docker time over total direct time
    ratio throughput/limit = X   submissions per second with N workers over cores / CPU seconds per grade

Needs the Docker engine with the sandbox image, PostgreSQL (TEST_DATABASE_URL) and Redis (--redis-url).

    [SANDBOX_POOL_SIZE=2] PYTHONPATH=. .venv/bin/python bench/grading.py [--rounds 2] [--throughput 10]

SANDBOX_* variables reach both this process's Docker backend and the pipeline's worker: with SANDBOX_POOL_SIZE
the grades run in warm pooled containers (sandboxes/README.md, 8); without it, in cold ones.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.pipeline import pipeline  # noqa: E402
from certplatform import create_app  # noqa: E402
from certplatform.content.loader import load_content  # noqa: E402
from certplatform.sandbox import kinds  # noqa: E402
from certplatform.sandbox.backends import GradeRequest, get_backend  # noqa: E402
from certplatform.sandbox.backends.docker_backend import close_pools  # noqa: E402
from certplatform.sandbox.limits import Limits  # noqa: E402

EXAM = "l1-operator-dev"


def requests() -> list[GradeRequest]:
    exam = next(e for e in load_content(REPO).exams if e.slug == EXAM)
    return [
        GradeRequest(
            code=(REPO / t.path / "solution.py").read_text(),
            tests_dir=REPO / t.path / "tests",
            kind=kinds.get(t.spec.kind),
            runtime=exam.spec.runtime,
            limits=Limits.from_mapping(t.spec.limits.model_dump()),
            label=f"bench-{t.spec.id}",
        )
        for t in exam.tasks
    ]


def timed(backend, request: GradeRequest, strict: bool = True) -> tuple[float, float]:
    """Wall seconds of one grade and the CPU seconds of the processes it waited for (the process backend's
    harness and candidate; nothing for Docker, whose work runs under the engine). A reference solution that does
    not pass stops the bench, except in the throughput run (`strict` False), where it is reported and counted."""
    for _attempt in range(3 if strict else 1):
        started, cpu = time.monotonic(), _children_cpu()
        result = backend.grade(request)
        elapsed = time.monotonic() - started
        if result.status not in ("timeout", "not_gradable"):
            break
        # An overloaded host can push even a reference solution past its wall limit: measured again, and said.
        print(f"  {request.label} on {backend.name}: {result.status} after {elapsed:.1f} s, measured again")
    if result.status != "passed":
        if strict:
            raise SystemExit(f"{request.label} on {backend.name}: {result.status} {result.message}")
        print(f"  {request.label} on {backend.name}: {result.status} {result.message[:120]}")
    return elapsed, _children_cpu() - cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs per task and backend (and through the pipeline)")
    parser.add_argument("--throughput", type=int, default=10, help="submissions for the N-worker throughput run")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    args = parser.parse_args()
    app = create_app(
        {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SANDBOX_PYTHON": sys.executable}
    )
    cores = os.cpu_count() or 1
    with app.app_context():
        docker_backend = get_backend("docker", app.config)
        direct = get_backend("process", app.config)
        reqs = requests()
        docker_backend.grade(replace(reqs[0], label="bench-warmup"))  # engine and page cache warm, not counted
        print(f"{'task':<12} {'docker s':>9} {'direct s':>9} {'ratio':>6} {'cpu s':>6}")
        totals = {"docker": 0.0, "direct": 0.0}
        cpu_per_grade = []
        for request in reqs:
            # Interleaved, so that machine load affects both backends alike.
            d, p, c = [], [], []
            for _ in range(args.rounds):
                d.append(timed(docker_backend, request)[0])
                wall, cpu = timed(direct, request)
                p.append(wall)
                c.append(cpu)
            dm, pm = statistics.median(d), statistics.median(p)
            totals["docker"] += dm
            totals["direct"] += pm
            cpu_per_grade.append(statistics.median(c))
            print(f"{request.label[6:]:<12} {dm:9.2f} {pm:9.2f} {dm / pm:6.2f} {cpu_per_grade[-1]:6.2f}")
        print(f"{'total':<12} {totals['docker']:9.2f} {totals['direct']:9.2f}")

        # The CPU-bound limit: every core busy with grades that each need the mean CPU seconds measured above.
        limit = cores / statistics.mean(cpu_per_grade)
        batch = [replace(reqs[i % len(reqs)], label=f"bench-tp-{i}") for i in range(args.throughput)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=cores) as workers:
            list(workers.map(lambda r: timed(docker_backend, r, strict=False), batch))
        throughput = len(batch) / (time.monotonic() - started)
        print(
            f"throughput with {cores} workers on {cores} cores (docker): {throughput * 60:.1f} submissions per minute; "
            f"CPU-bound limit {limit * 60:.1f} per minute ({statistics.mean(cpu_per_grade):.2f} CPU s per grade)"
        )
        close_pools()  # the pipeline's worker keeps its own; this process's would only compete with it

    ratios = []
    with pipeline(args.redis_url, worker_env()) as submit:
        submit(reqs[0].label[6:], reqs[0].code)  # the worker's first grade (and its warm-up) is not counted
        for _ in range(args.rounds):
            for request in reqs:
                run = submit(request.label[6:], request.code)
                ratios.append(run.latency_s / run.compute_s)
                print(
                    f"pipeline {run.task:<10} request to stored result {run.latency_s:6.2f} s, "
                    f"compute {run.compute_s:6.3f} s, ratio {ratios[-1]:7.1f}"
                )
    print(f"ratio latency/compute = {statistics.median(ratios):.3f}")
    print(f"ratio docker/direct = {totals['docker'] / totals['direct']:.3f}")
    print(f"ratio throughput/limit = {throughput / limit:.3f}")


def worker_env() -> dict[str, str]:
    """What the bench's Celery worker gets beyond the pipeline's own settings (the sandbox pool, once there)."""
    return {key: value for key, value in os.environ.items() if key.startswith("SANDBOX_")}


if __name__ == "__main__":
    main()
