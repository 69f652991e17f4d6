"""`certplatform integrity report EXAM`: the pairs of attempts whose submissions resemble each other (admins)."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext


def init_app(app: Flask) -> None:
    app.cli.add_command(integrity)


@click.group("integrity")
def integrity() -> None:
    """Academic integrity: similarity between candidates' submissions."""


def _row(match) -> dict[str, object]:
    def side(submission, share):
        attempt = submission.attempt
        return {
            "attempt_id": attempt.id,
            "submission_id": submission.id,
            "status": submission.status.value,
            "candidate": attempt.user.name_latin,
            "email": attempt.user.email,
            "share": round(share, 4),
        }

    return {
        "task": match.task.slug,
        "similarity": round(match.share, 4),
        "a": side(match.submission, match.outcome.a.share),
        "b": side(match.other, match.outcome.b.share),
    }


@integrity.command("report")
@click.argument("exam_slug", metavar="EXAM")
@click.option(
    "--threshold", type=click.FloatRange(0, 1, min_open=True), help="Flag from this share (default: the exam's)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def report(exam_slug: str, threshold: float | None, as_json: bool) -> None:
    """Print the flagged pairs of attempts of EXAM, closest first (names and emails: for administrators)."""
    from certplatform.services import attempts
    from certplatform.services import integrity as service

    exam = attempts.live_exam(exam_slug)
    if exam is None:
        raise click.UsageError(f"no exam {exam_slug!r}")
    used = service.threshold_for(exam) if threshold is None else threshold
    rows = [_row(m) for m in service.exam_report(exam, used)]
    if as_json:
        click.echo(json.dumps({"exam": exam.slug, "threshold": used, "pairs": rows}, ensure_ascii=False, indent=2))
        return
    click.echo(f"{exam.slug}: {len(rows)} flagged pair(s) at {used:.0%} or more")
    for r in rows:
        a, b = r["a"], r["b"]
        click.echo(
            f"{r['similarity']:>5.0%}  {r['task']:<16} attempt {a['attempt_id']} ({a['candidate']} <{a['email']}>, "
            f"submission {a['submission_id']}, {a['share']:.0%})  ~  attempt {b['attempt_id']} ({b['candidate']} "
            f"<{b['email']}>, submission {b['submission_id']}, {b['share']:.0%})"
        )
