"""Grading cost, measured side by side in one run.

For each L1 reference solution: wall time in the Docker sandbox (a fresh hardened container) and in a local
process running the same harness. Then throughput with two grading workers in parallel (Docker).
Last line: `ratio docker/direct = <number>` (total Docker time over total direct time; target <= 1.5).

    .venv/bin/python bench/grading.py [--rounds 2] [--throughput 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from certplatform import create_app  # noqa: E402
from certplatform.content.loader import load_content  # noqa: E402
from certplatform.sandbox import kinds  # noqa: E402
from certplatform.sandbox.backends import GradeRequest, get_backend  # noqa: E402
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


def timed(backend, request: GradeRequest) -> float:
    started = time.monotonic()
    result = backend.grade(request)
    elapsed = time.monotonic() - started
    if result.status != "passed":
        raise SystemExit(f"{request.label} on {backend.name}: {result.status} {result.message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="median of this many runs per task and backend")
    parser.add_argument("--throughput", type=int, default=8, help="submissions for the two-worker throughput run")
    args = parser.parse_args()
    app = create_app(
        {"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SANDBOX_PYTHON": sys.executable}
    )
    with app.app_context():
        docker_backend = get_backend("docker", app.config)
        direct = get_backend("process", app.config)
        reqs = requests()
        docker_backend.grade(replace(reqs[0], label="bench-warmup"))  # engine and page cache warm, not counted
        print(f"{'task':<12} {'docker s':>9} {'direct s':>9} {'ratio':>6}")
        totals = {"docker": 0.0, "direct": 0.0}
        for request in reqs:
            # Interleaved, so that machine load affects both backends alike.
            d, p = [], []
            for _ in range(args.rounds):
                d.append(timed(docker_backend, request))
                p.append(timed(direct, request))
            dm, pm = statistics.median(d), statistics.median(p)
            totals["docker"] += dm
            totals["direct"] += pm
            print(f"{request.label[6:]:<12} {dm:9.2f} {pm:9.2f} {dm / pm:6.2f}")
        print(f"{'total':<12} {totals['docker']:9.2f} {totals['direct']:9.2f}")

        batch = [replace(reqs[i % len(reqs)], label=f"bench-tp-{i}") for i in range(args.throughput)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda r: timed(docker_backend, r), batch))
        elapsed = time.monotonic() - started
        print(
            f"throughput with two workers (docker): {len(batch) / elapsed * 60:.1f} submissions per minute "
            f"({len(batch)} in {elapsed:.1f} s)"
        )
        print(f"ratio docker/direct = {totals['docker'] / totals['direct']:.3f}")


if __name__ == "__main__":
    main()
