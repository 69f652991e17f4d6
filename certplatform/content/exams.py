"""Load `exams/<exam>/`: exam.yaml and one folder per task with its prompts, starter, reference solution and tests."""

from __future__ import annotations

from pathlib import Path

from certplatform.content import chip_profiles
from certplatform.content.markdown_checks import check_lesson_markdown
from certplatform.content.schemas import ExamSpec
from certplatform.content.tree import ContentError, LoadedExam, LoadedExamTask
from certplatform.content.wrong_solutions import check_wrong_folder
from certplatform.content.yamlsrc import line_of
from certplatform.sandbox.kinds import proves_checks, source_suffix


def task_files(kind: str) -> tuple[str, ...]:
    """prompt.zh.md, prompt.en.md, starter and solution with the kind's suffix (.py, or .md for documents)."""
    suffix = source_suffix(kind)
    return ("prompt.zh.md", "prompt.en.md", f"starter{suffix}", f"solution{suffix}")


def load_exams(loader, known_kinds: frozenset[str], known_runtimes: frozenset[str]) -> list[LoadedExam]:
    """Every exam under `loader.root/exams`, reporting into `loader.errors` (a content.loader._Loader)."""
    base = loader.root / "exams"
    if not base.is_dir():
        return []
    folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [exam for exam in (_exam(loader, f, known_kinds, known_runtimes) for f in folders) if exam is not None]


def _exam(loader, folder: Path, known_kinds: frozenset[str], known_runtimes: frozenset[str]) -> LoadedExam | None:
    spec, doc = loader.read(folder / "exam.yaml", ExamSpec, "exam")
    if spec is None or doc is None:
        return None
    errors: list[ContentError] = loader.errors
    if spec.runtime not in known_runtimes:
        msg = f"unknown runtime {spec.runtime!r}; known: {', '.join(sorted(known_runtimes))}"
        errors.append(ContentError(doc.file, line_of(doc.node, ("runtime",)), msg))
    tasks_dir = folder / "tasks"
    present = sorted(p.name for p in tasks_dir.iterdir() if p.is_dir()) if tasks_dir.is_dir() else []
    tasks: list[LoadedExamTask] = []
    for i, task in enumerate(spec.tasks):
        if task.kind not in known_kinds:
            msg = f"unknown task kind {task.kind!r}; known: {', '.join(sorted(known_kinds))}"
            errors.append(ContentError(doc.file, line_of(doc.node, ("tasks", i, "kind")), msg))
        loaded = _task(loader, tasks_dir / task.id, task, doc.file, line_of(doc.node, ("tasks", i, "id")))
        if loaded is not None:
            tasks.append(loaded)
    for name in present:
        if name not in {t.id for t in spec.tasks}:
            msg = f"task folder not listed in {doc.file}: it would never be graded"
            errors.append(ContentError(f"{loader.rel(tasks_dir / name)}/", None, msg))
    if any(t.kind == chip_profiles.KIND for t in spec.tasks):
        errors.extend(chip_profiles.check_files(folder, loader.rel))
    if len(tasks) != len(spec.tasks):
        return None
    return LoadedExam(slug=folder.name, path=loader.rel(folder), spec=spec, tasks=tuple(tasks))


def _task(loader, folder: Path, spec, exam_file: str, line: int) -> LoadedExamTask | None:
    errors: list[ContentError] = loader.errors
    if not folder.is_dir():
        errors.append(
            ContentError(exam_file, line, f"task {spec.id!r} is listed but {loader.rel(folder)}/ does not exist")
        )
        return None
    texts: dict[str, str] = {}
    names = task_files(spec.kind)
    for name in names:
        path = folder / name
        rel = loader.rel(path)
        if not path.is_file():
            errors.append(ContentError(rel, None, f"missing {name}: every task needs one"))
            continue
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ContentError(rel, None, f"cannot read: {exc}"))
            continue
        if name.endswith(".py"):
            try:
                compile(texts[name], rel, "exec")
            except SyntaxError as exc:
                errors.append(ContentError(rel, exc.lineno, f"Python syntax error: {exc.msg}"))
        elif name.startswith("prompt."):
            errors.extend(check_lesson_markdown(texts[name], rel, loader.rel(folder), frozenset(), frozenset()))
    if spec.kind == "triton_op":
        errors.extend(_triton_op_rules(texts, loader, folder))
    if proves_checks(spec.kind):
        errors.extend(check_wrong_folder(folder, loader.rel, source_suffix(spec.kind)))
    tests = folder / "tests"
    if not tests.is_dir() or not any(p.is_file() for p in tests.rglob("*")):
        errors.append(
            ContentError(f"{loader.rel(tests)}/", None, "missing hidden tests: tests/ must hold the checker's cases")
        )
        return None
    if len(texts) != len(names):
        return None
    return LoadedExamTask(
        spec=spec,
        path=loader.rel(folder),
        prompt={"zh": texts["prompt.zh.md"], "en": texts["prompt.en.md"]},
        starter=texts[names[2]],
    )


def _triton_op_rules(texts: dict[str, str], loader, folder: Path) -> list[ContentError]:
    """The prompts of a triton_op task must state exactly the rules the grader applies: the allocation list and
    the banned builtins, as the harness's host_api writes them (its one source)."""
    from certplatform.sandbox.harness_data import load

    host_api = load("host_api")
    required = {
        "the allowed allocations": host_api.allocators_markdown(),
        "the banned builtins": host_api.banned_builtins_markdown(),
    }
    found = []
    for name in ("prompt.zh.md", "prompt.en.md"):
        text = texts.get(name)
        if text is None:
            continue
        for what, listing in required.items():
            if listing not in text:
                found.append(
                    ContentError(
                        loader.rel(folder / name),
                        None,
                        f"the Rules must list {what} exactly as the grader applies them: {listing}",
                    )
                )
    return found
