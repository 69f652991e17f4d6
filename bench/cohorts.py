"""Cohort dashboard cost, measured side by side in one run.

Two cohorts of generated students (500 and 5,000, bulk-inserted into a SQLite file database with the repository's
content synced) with varied lesson progress, quiz attempts, exam attempts and certificates. For each: the median
wall time of a full `GET /cohorts/<id>/` (the dashboard page as a university administrator sees it) and the number
of SQL statements one request runs. Last line: `ratio 5000/500 = <number>` (median time ratio; target <= 12, i.e.
no worse than linear in the cohort's size; the query count must not change).

    .venv/bin/python bench/cohorts.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from certplatform import create_app  # noqa: E402
from certplatform.content.sync import sync_content  # noqa: E402
from certplatform.extensions import db  # noqa: E402
from certplatform.models import (  # noqa: E402
    Cohort,
    Organization,
    OrganizationKind,
    OrganizationMembership,
    Role,
    User,
    UserRole,
)
from certplatform.services.accounts import hash_password  # noqa: E402
from tests.cohort_data import generate_students  # noqa: E402

SIZES = (500, 5000)
PASSWORD = "Bench-Passw0rd-1"  # noqa: S105 - a throwaway account in a temporary database


def prepare() -> tuple[str, dict[int, int]]:
    """The administrator's email and {size: cohort id}."""
    sync_content(REPO)
    org = Organization(name="Bench University", slug="bench-uni", kind=OrganizationKind.UNIVERSITY)
    admin = User(email="registrar@bench.example", name_latin="Registrar", password_hash=hash_password(PASSWORD))
    admin.roles.append(UserRole(role=Role.UNIVERSITY_ADMIN))
    db.session.add_all([org, admin, OrganizationMembership(organization=org, user=admin)])
    db.session.flush()
    cohorts = {}
    for size in SIZES:
        cohort = Cohort(
            organization_id=org.id,
            name=f"Cohort of {size}",
            term="Bench",
            target_levels=["L1"],
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 7, 1),
            created_by_id=admin.id,
        )
        db.session.add(cohort)
        db.session.commit()
        generate_students(cohort, size, f"c{size}-")
        cohorts[size] = cohort.id
    return admin.email, cohorts


def timed(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code}")
    return elapsed


def queries(engine, client, path: str) -> int:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="median of this many requests per cohort")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app(
            {
                "ENV_NAME": "development",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(workdir) / 'bench.sqlite'}",
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            email, cohorts = prepare()
            print(f"generated {sum(SIZES)} students in {time.perf_counter() - started:.1f} s")
            engine = db.engine
            db.session.remove()
        # Requests run outside any pushed application context, each with its own session, as in a server.
        client = app.test_client()
        if client.post("/auth/login", data={"email": email, "password": PASSWORD}).status_code != 302:
            raise SystemExit("could not sign in")
        paths = {size: f"/cohorts/{cohort_id}/" for size, cohort_id in cohorts.items()}
        for path in paths.values():
            timed(client, path)  # templates compiled and caches warm, not counted
        times: dict[int, list[float]] = {size: [] for size in SIZES}
        for _ in range(args.rounds):  # interleaved, so that machine load affects both sizes alike
            for size, path in paths.items():
                times[size].append(timed(client, path))
        medians = {size: statistics.median(t) for size, t in times.items()}
        print(f"{'students':>8} {'median s':>9} {'queries':>8}")
        for size, path in paths.items():
            print(f"{size:>8} {medians[size]:9.3f} {queries(engine, client, path):>8}")
        engine.dispose()
        print(f"ratio 5000/500 = {medians[5000] / medians[500]:.2f}")


if __name__ == "__main__":
    main()
