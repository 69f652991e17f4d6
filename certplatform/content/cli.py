"""`certplatform content`: validate the content files, export their JSON Schemas, write the chip profile files,
sync them to the DB."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from certplatform.content.schemas import SCHEMAS

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def init_app(app: Flask) -> None:
    app.cli.add_command(content)


@click.group("content")
def content() -> None:
    """Course and exam content: validate, schema, chip-profiles, sync."""


def _content_root(root: Path | None) -> Path:
    """ROOT, or the repository's own; exit 2 when it holds neither courses/ nor exams/."""
    root = root or REPO_ROOT
    if not (root / "courses").is_dir() and not (root / "exams").is_dir():
        click.echo(f"{root}: no courses/ or exams/ folder here", err=True)
        raise SystemExit(2)
    return root


_ROOT = click.argument("root", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))


@content.command("validate")
@_ROOT
def validate(root: Path | None) -> None:
    """Check every content file under ROOT and print each error as file:line: message (no database needed)."""
    from certplatform.content.loader import load_content

    tree = load_content(_content_root(root))
    errors = sorted(tree.errors, key=lambda e: (e.file, e.line or 0, e.message))
    for error in errors:
        click.echo(str(error))
    if errors:
        files = len({e.file for e in errors})
        click.echo(f"{_plural(len(errors), 'error')} in {_plural(files, 'file')}")
        raise SystemExit(1)
    modules = [m for c in tree.courses for m in c.modules]
    lessons = sum(len(m.lessons) for m in modules)
    questions = sum(len(m.quiz.questions) for m in modules if m.quiz)
    click.echo(
        f"content OK: {_plural(len(tree.courses), 'course')}, {_plural(len(modules), 'module')}, "
        f"{_plural(lessons, 'lesson')}, {_plural(questions, 'quiz question')}, "
        f"{_plural(len(tree.exams), 'exam')}, {_plural(sum(len(e.tasks) for e in tree.exams), 'exam task')} "
        f"(version {tree.version})"
    )


@content.command("chip-profiles")
@_ROOT
def chip_profiles(root: Path | None) -> None:
    """Write the profile files of every chip_profile exam and the generated chip profile tables in the Markdown
    files from the grader's sandboxes/harness/chipprofile.py."""
    from certplatform.content import chip_profiles as files
    from certplatform.content import chip_tables

    root = _content_root(root)
    changed = [path for folder in files.exam_folders(root) for path in files.write_files(folder)]
    tables, errors = chip_tables.write_tables(root, lambda path: path.relative_to(root).as_posix())
    for path in [*changed, *tables]:
        click.echo(f"wrote {path.relative_to(root)}")
    click.echo(f"{_plural(len(changed), 'profile file')} and {_plural(len(tables), 'Markdown file')} changed")
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        raise SystemExit(1)


@content.command("schema")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write <kind>.schema.json files into this folder instead of printing one JSON object.",
)
def schema(out: Path | None) -> None:
    """Export the JSON Schemas of course.yaml, module.yaml, lesson.yaml and quiz.yaml for editors."""
    schemas = {kind: model.model_json_schema() for kind, model in SCHEMAS.items()}
    if out is None:
        click.echo(json.dumps(schemas, indent=2, ensure_ascii=False))
        return
    out.mkdir(parents=True, exist_ok=True)
    for kind, body in schemas.items():
        path = out / f"{kind}.schema.json"
        path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"wrote {path}")


@content.command("sync")
@_ROOT
@with_appcontext
def sync(root: Path | None) -> None:
    """Load ROOT and upsert it into the database by UUID; refuses to run while the content has errors."""
    # Imported here: the sync brings in the models and the database, which validate and schema never need.
    from certplatform.content.sync import SyncError, sync_content

    try:
        report = sync_content(_content_root(root))
    except SyncError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    click.echo(str(report))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
