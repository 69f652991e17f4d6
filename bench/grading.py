"""Grading cost, measured side by side in one run.

For each L1 reference solution: wall time in the Docker sandbox and in a local process running the same harness,
and the CPU seconds one grade needs (the local process's). Then throughput with N grading workers on the N cores
against the CPU-bound limit (cores / CPU seconds per grade). Then the whole path: a web request to the task page,
Redis, a Celery worker grading in Docker, the stored result, over the tests' own compute time (compute_s). Then,
on that path: a worker SIGKILLed (its whole process group) in the middle of a grading and another one started,
from the kill to the submission's final state; a burst of candidates submitting within a window to --burst-workers
workers, from each request to its result; and one candidate's single submission made while another floods twenty.
Last lines (targets of issue 12: <= 1.5, <= 1.05, >= 0.85, <= 2, <= 2):

    ratio latency/compute = X    median over the five tasks and the rounds of (request -> stored) / compute_s
    ratio docker/direct = X      total Docker time over total direct time
    ratio throughput/limit = X   submissions per second with N workers over cores / CPU seconds per grade
    ratio kill-to-final/wall = X seconds from the kill to the final state over the task's wall limit
    ratio single-wait/slot = X   the single submission's request -> result over one grading slot (the median
                                 claim -> result of the flood's gradings and its own): at most one slot behind
                                 the flood, plus its own grading

Before them: `kill-to-final = X s (wall limit W s)`, `burst p50 = X s, p95 = Y s` (request -> result over the
burst's gradings) and `single submitter waited Z s (one grading slot = S s)`. The pipeline runs with rate limits
off and SUBMISSIONS_PER_TASK raised (the flooder's twenty are past both) and GRADING_INFLIGHT_PER_CANDIDATE set
to --burst-workers (default: the cores), the grading slots; it says so.

Needs the Docker engine with the sandbox image, PostgreSQL (TEST_DATABASE_URL) and Redis (--redis-url).

    [SANDBOX_POOL_SIZE=2] PYTHONPATH=. .venv/bin/python bench/grading.py [--rounds 2] [--throughput 10]
        [--burst-candidates 40] [--burst-submissions 200] [--burst-window 60] [--burst-workers N]

SANDBOX_* variables reach both this process's Docker backend and the pipeline's workers: with SANDBOX_POOL_SIZE
the grades run in warm pooled containers (sandboxes/README.md, 8); without it, in cold ones.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from collections import Counter
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
    parser.add_argument("--burst-candidates", type=int, default=40, help="candidates in the burst")
    parser.add_argument("--burst-submissions", type=int, default=200, help="submissions in the burst")
    parser.add_argument("--burst-window", type=float, default=60, help="seconds the burst's requests are spread over")
    parser.add_argument("--burst-workers", type=int, default=os.cpu_count() or 1, help="workers for burst and flood")
    args = parser.parse_args()
    if min(args.burst_candidates, args.burst_submissions, args.burst_workers) < 1:
        parser.error("the burst needs at least one candidate, one submission and one worker")
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
    codes = {request.label[6:]: request.code for request in reqs}
    with pipeline(args.redis_url, worker_env(), inflight_per_candidate=args.burst_workers) as line:
        line.submit(reqs[0].label[6:], reqs[0].code)  # the worker's first grade (and its warm-up) is not counted
        pool_size = int(os.environ.get("SANDBOX_POOL_SIZE") or 0)
        if pool_size:
            print(
                f"pipeline latency: each submission made once the worker's pool holds {pool_size} warm containers "
                "(a candidate submitting to an idle platform; the burst below is the loaded one)"
            )
        for _ in range(args.rounds):
            for request in reqs:
                if pool_size:
                    line.settle_pool(pool_size)
                run = line.submit(request.label[6:], request.code)
                ratios.append(run.latency_s / run.compute_s)
                print(
                    f"pipeline {run.task:<10} request to stored result {run.latency_s:6.2f} s, "
                    f"compute {run.compute_s:6.3f} s, ratio {ratios[-1]:7.1f}"
                )
        kill_s, wall_s = kill_to_final(line, "vector_add", codes["vector_add"])
        print(
            f"pipeline settings: rate limits off, SUBMISSIONS_PER_TASK 10000 (the flooder's {FLOOD} are past "
            f"CANDIDATE_SUBMIT_RATE_LIMIT and the task's limit), GRADING_INFLIGHT_PER_CANDIDATE {args.burst_workers}"
        )
        while len(line.workers) < args.burst_workers:
            line.start_worker()
        for worker in line.workers:
            line.wait_ready(worker)
        burst(line, codes, args.burst_candidates, args.burst_submissions, args.burst_window)
        waited, slot = flood(line, codes)
    print(f"ratio latency/compute = {statistics.median(ratios):.3f}")
    print(f"ratio docker/direct = {totals['docker'] / totals['direct']:.3f}")
    print(f"ratio throughput/limit = {throughput / limit:.3f}")
    print(f"ratio kill-to-final/wall = {kill_s / wall_s:.3f}")
    print(f"ratio single-wait/slot = {waited / slot:.3f}")


FLOOD = 20  # one candidate's submissions, made at once, ahead of another candidate's single one


def kill_to_final(line, task: str, code: str) -> tuple[float, float]:
    """SIGKILL the pipeline's worker while it grades a submission, start another, and time from the kill to the
    submission's final state (the lease expires, a sweeper takes it back, the new worker grades it again).

    Seconds from the kill to the final state, and the task's wall limit."""
    import sqlalchemy as sa

    from certplatform.extensions import db
    from certplatform.models import AuditEvent, ExamTask, Submission, SubmissionStatus
    from certplatform.models.types import utcnow

    candidate = line.candidate()
    for _attempt in range(3):
        (worker,) = line.workers
        sent = line.send(candidate, task, code)
        row = _running_or_final(sent.submission_id, 300)
        if row.status.final:
            print(f"  {task}: graded before its worker was killed ({row.status.value}), again")
            continue
        time.sleep(0.5)  # into the grading: the sandbox runs the candidate's code
        line.kill_worker(worker)
        killed_at = utcnow()
        db.session.expire_all()
        row = db.session.get(Submission, sent.submission_id)
        if row.status is not SubmissionStatus.RUNNING:
            print(f"  {task}: graded before its worker was killed ({row.status.value}), again")
            line.start_worker()
            continue
        line.start_worker()
        row = line.wait_final([sent.submission_id], 600)[sent.submission_id]
        kill_s = (row.finished_at - killed_at).total_seconds()
        taken_back = db.session.scalar(
            sa.select(AuditEvent.created_at).where(
                AuditEvent.action == "grading.lease_expired", AuditEvent.target_id == str(sent.submission_id)
            )
        )
        wall_s = float(db.session.scalar(sa.select(ExamTask).where(ExamTask.id == row.task_id)).limits["wall_seconds"])
        detected = f"{(taken_back - killed_at).total_seconds():.1f} s" if taken_back else "never"
        print(
            f"kill mid-grading of {task}: lease expired and taken back after {detected}, "
            f"final {row.status.value} after {row.runs} runs"
        )
        print(f"kill-to-final = {kill_s:.1f} s (wall limit {wall_s:.0f} s)")
        return kill_s, wall_s
    raise SystemExit(f"{task}: every grading ended before its worker could be killed")


def burst(line, codes: dict[str, str], candidates: int, submissions: int, window_s: float) -> None:
    """`submissions` from `candidates` candidates in turn, spread evenly over `window_s`; request -> result."""
    tasks = list(codes)
    people = [line.candidate() for _ in range(candidates)]
    sent = []
    started = time.monotonic()
    for k in range(submissions):
        time.sleep(max(0.0, started + k * window_s / submissions - time.monotonic()))
        who, nth = k % candidates, k // candidates
        task = tasks[(who + nth) % len(tasks)]  # the candidates' tasks mixed; a sixth submission supersedes
        sent.append(line.send(people[who], task, codes[task]))
    sending_s = time.monotonic() - started
    rows = line.wait_final([s.submission_id for s in sent], 600 + 60 * submissions)
    graded = [(s, rows[s.submission_id]) for s in sent if rows[s.submission_id].started_at is not None]
    latency = sorted((row.finished_at - s.sent_at).total_seconds() for s, row in graded)
    queued = sorted((row.started_at - s.sent_at).total_seconds() for s, row in graded)
    statuses = Counter(row.status.value for row in rows.values())
    print(
        f"burst: {candidates} candidates, {submissions} submissions sent in {sending_s:.1f} s "
        f"to {len(line.workers)} workers; " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    )
    # Whether the waits are the queue's fairness or the workers' capacity: what the burst offered against what
    # the workers grade in its window.
    slot = statistics.median((row.finished_at - row.started_at).total_seconds() for _s, row in graded)
    print(
        f"burst gradings: median claim -> result {slot:.1f} s, so {len(line.workers)} workers grade about "
        f"{len(line.workers) * window_s / slot:.0f} in the {window_s:.0f} s window the burst offered {submissions} in"
    )
    print(f"burst queue wait (request -> claimed) p50 = {_pct(queued, 50):.1f} s, p95 = {_pct(queued, 95):.1f} s")
    print(f"burst p50 = {_pct(latency, 50):.1f} s, p95 = {_pct(latency, 95):.1f} s")


def flood(line, codes: dict[str, str]) -> tuple[float, float]:
    """One candidate submits FLOOD times at once, then another candidate submits once: how long the single one
    waits for its result, and one grading slot (the median claim -> result of the flood's gradings and its own)."""
    tasks = list(codes)
    flooder, single = line.candidate(), line.candidate()
    flooded = [line.send(flooder, tasks[i % len(tasks)], codes[tasks[i % len(tasks)]]) for i in range(FLOOD)]
    mine = line.send(single, "vector_add", codes["vector_add"])
    rows = line.wait_final([s.submission_id for s in [*flooded, mine]], 600 + 60 * FLOOD)
    own = rows[mine.submission_id]
    spans = [(r.finished_at - r.started_at).total_seconds() for r in rows.values() if r.started_at is not None]
    slot = statistics.median(spans)
    waited = (own.finished_at - mine.sent_at).total_seconds()
    ahead = [
        s.submission_id
        for s in flooded
        if (r := rows[s.submission_id]).started_at is not None and mine.sent_at < r.started_at < own.started_at
    ]
    superseded = sum(1 for s in flooded if rows[s.submission_id].status.value == "superseded")
    print(
        f"flood: {FLOOD} submissions of one candidate ({superseded} superseded by newer ones), then one of another "
        f"({own.status.value}); flood gradings started between its request and its own: {len(ahead)}"
    )
    print(f"single submitter waited {waited:.1f} s (one grading slot = {slot:.1f} s)")
    return waited, slot


def _running_or_final(submission_id: int, timeout: float):
    """The submission once a worker grades it (or, sooner than seen, has graded it)."""
    from certplatform.extensions import db
    from certplatform.models import Submission, SubmissionStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        row = db.session.get(Submission, submission_id)
        if row.status is SubmissionStatus.RUNNING or row.status.final:
            return row
        time.sleep(0.02)
    raise SystemExit(f"submission {submission_id}: not graded after {timeout} s")


def _pct(values: list[float], pct: int) -> float:
    """The nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(pct / 100 * len(values)) - 1)]


def worker_env() -> dict[str, str]:
    """What the bench's Celery worker gets beyond the pipeline's own settings (the sandbox pool, once there)."""
    return {key: value for key, value in os.environ.items() if key.startswith("SANDBOX_")}


if __name__ == "__main__":
    main()
