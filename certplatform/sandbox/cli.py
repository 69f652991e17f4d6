"""`certplatform grade`, `certplatform exams selftest` and `certplatform sandbox build`.

`grade` follows the command-line contract in architecture.md exactly: other tools depend on it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from certplatform.content.loader import load_content
from certplatform.content.tree import LoadedExam, LoadedExamTask
from certplatform.sandbox import kinds
from certplatform.sandbox.backends import BackendUnavailable, GradeRequest, get_backend
from certplatform.sandbox.limits import Limits
from certplatform.sandbox.results import GradeResult, not_gradable

EXIT_USAGE = 2
EXIT_NOT_GRADABLE = 3
BACKENDS = click.Choice(["docker", "process"])


def init_app(app: Flask) -> None:
    app.cli.add_command(grade)
    app.cli.add_command(exams)
    app.cli.add_command(sandbox)


def _exams() -> dict[str, LoadedExam]:
    tree = load_content(Path(current_app.config["CONTENT_ROOT"]))
    return {e.slug: e for e in tree.exams}


def _runtime(exam: LoadedExam) -> str:
    return current_app.config.get("SANDBOX_RUNTIME") or exam.spec.runtime


def _limits(task: LoadedExamTask) -> Limits:
    return Limits.from_mapping(task.spec.limits.model_dump())


def _backend(backend_name: str, pool_size: int = 0):
    """The backend for these commands: one grade per `grade` command, where a pool of warm containers would only
    cost a second container, hence no pool unless asked for."""
    return get_backend(backend_name, {**current_app.config, "SANDBOX_POOL_SIZE": pool_size})


def _grade_file(exam: LoadedExam, task: LoadedExamTask, code: str, backend_name: str, backend=None) -> GradeResult:
    root = Path(current_app.config["CONTENT_ROOT"])
    request = GradeRequest(
        code=code,
        tests_dir=root / task.path / "tests",
        kind=kinds.get(task.spec.kind),
        runtime=_runtime(exam),
        limits=_limits(task),
        label=f"cli-{exam.slug}-{task.spec.id}",
    )
    started = time.monotonic()
    try:
        return (backend or _backend(backend_name)).grade(request)
    except BackendUnavailable as exc:
        return not_gradable(str(exc), time.monotonic() - started, backend_name)


def _usage(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


@click.command("grade")
@click.option("--exam", "exam_slug", required=True, help="Exam folder name, e.g. l1-operator-dev.")
@click.option("--task", "task_id", required=True, help="Task id, e.g. softmax.")
@click.option("--backend", type=BACKENDS, default=None, help="Sandbox backend (default: SANDBOX_BACKEND).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the stable contract).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def grade(exam_slug: str, task_id: str, backend: str | None, as_json: bool, file: Path) -> None:
    """Grade FILE for one exam task exactly as the platform would.

    Exit 0 when a grade was produced (pass or fail), 2 for usage errors, 3 when the sandbox could not grade.
    """
    exam = _exams().get(exam_slug)
    if exam is None:
        _usage(f"unknown exam {exam_slug!r}")
    task = next((t for t in exam.tasks if t.spec.id == task_id), None)
    if task is None:
        _usage(f"exam {exam_slug!r} has no task {task_id!r}; tasks: {', '.join(t.spec.id for t in exam.tasks)}")
    try:
        code = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        _usage(f"{file} is not UTF-8 text")
    result = _grade_file(exam, task, code, backend or current_app.config["SANDBOX_BACKEND"])
    if as_json:
        click.echo(json.dumps(result.as_cli_json(), ensure_ascii=False))
    else:
        click.echo(f"{result.status}  score {result.score:.3f}  ({result.duration_s:.1f} s)  {result.message}")
        for t in result.tests:
            click.echo(f"  {'PASS' if t.passed else 'FAIL'}  {t.name}  {t.message}")
    raise SystemExit(EXIT_NOT_GRADABLE if not result.gradable else 0)


@click.group("exams")
def exams() -> None:
    """Exam content commands."""


@exams.command("selftest")
@click.argument("exam_slug", required=False)
@click.option("--backend", type=BACKENDS, default=None, help="Sandbox backend (default: SANDBOX_BACKEND).")
@click.option(
    "--pool",
    "pool_size",
    type=click.IntRange(0, 4),
    default=0,
    show_default=True,
    help="Docker only: grade in warm single-use containers, this many kept ready per task's limits, all started "
    "before the first grade (as workers with SANDBOX_POOL_SIZE do).",
)
@with_appcontext
def selftest(exam_slug: str | None, backend: str | None, pool_size: int) -> None:
    """Grade every task's solution.py (must score 1.0) and starter.py (must not pass) in the real sandbox."""
    found = _exams()
    if exam_slug is not None and exam_slug not in found:
        _usage(f"unknown exam {exam_slug!r}")
    backend = backend or current_app.config["SANDBOX_BACKEND"]
    if pool_size and backend != "docker":
        _usage("--pool needs the docker backend")
    root = Path(current_app.config["CONTENT_ROOT"])
    chosen = [(slug, exam) for slug, exam in sorted(found.items()) if exam_slug in (None, slug)]
    grader = None
    if pool_size:
        grader = _backend(backend, pool_size)
        for _, exam in chosen:
            for task in exam.tasks:
                if kinds.get(task.spec.kind).warm_candidate:
                    grader.warm_up(_runtime(exam), _limits(task))
    problems: list[str] = []
    not_gradable_seen = False
    for slug, exam in chosen:
        for task in exam.tasks:
            suffix = kinds.source_suffix(task.spec.kind)
            for name, must_pass in ((f"solution{suffix}", True), (f"starter{suffix}", False)):
                code = (root / task.path / name).read_text(encoding="utf-8")
                result = _grade_file(exam, task, code, backend, grader)
                ok = (result.status == "passed" and result.score == 1.0) if must_pass else result.status != "passed"
                not_gradable_seen |= not result.gradable
                verdict = "ok " if ok and result.gradable else "BAD"
                container = ("warm " if result.extra.get("pooled") else "cold ") if grader is not None else ""
                click.echo(
                    f"{verdict} {slug}/{task.spec.id}/{name:<12} {result.status:<12} {result.score:.3f} "
                    f"{result.duration_s:6.1f} s  {container}{result.message[:100]}"
                )
                if not (ok and result.gradable):
                    problems.append(
                        f"{slug}/{task.spec.id}/{name}: {result.status} {result.score:.3f} {result.message}"
                    )
    if problems:
        click.echo(f"{len(problems)} problem(s):", err=True)
        for p in problems:
            click.echo(f"  {p}", err=True)
        raise SystemExit(EXIT_NOT_GRADABLE if not_gradable_seen else 1)
    click.echo("selftest OK: every solution scores 1.0 and no starter passes")


@click.group("sandbox")
def sandbox() -> None:
    """Sandbox images."""


@sandbox.command("build")
@click.option("--runtime", default="triton-cpu", show_default=True, type=click.Choice(sorted(kinds.RUNTIMES)))
@click.option(
    "--base-tag",
    default=None,
    help="Base image to build on (default: the runtime's). A missing certplatform/sandbox-base:* is debootstrapped.",
)
@click.option(
    "--wheelhouse",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the wheel caches (default: /var/cache/certplatform/wheelhouse).",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write every line the steps print to this file, with seconds since the start.",
)
@with_appcontext
def build(runtime: str, base_tag: str | None, wheelhouse: Path | None, log_file: Path | None) -> None:
    """Build the runtime image offline (debootstrap base + wheelhouse); nothing happens when it is up to date.

    The image is the one the docker backend grades with (SANDBOX_IMAGE_TRITON_CPU, else the content-hash tag).
    Progress goes to the terminal and to the status file that /healthz and the exam pages show.
    """
    import docker

    from certplatform.sandbox import images
    from certplatform.services import sandbox_build

    started = time.monotonic()
    raw = log_file.open("a", encoding="utf-8") if log_file is not None else None
    try:
        tag = sandbox_build.run(runtime, click.echo, base_tag=base_tag, wheelhouse=wheelhouse, raw_log=raw)
    except (images.ImageBuildError, docker.errors.DockerException) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if raw is not None:
            raw.close()
    click.echo(f"{tag} ready in {time.monotonic() - started:.1f} s")
