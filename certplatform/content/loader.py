"""Load `courses/` into a ContentTree, collecting every error with its file and line instead of stopping."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

from certplatform.content import chip_tables
from certplatform.content.exams import load_exams
from certplatform.content.markdown_checks import check_asset, check_lesson_markdown, list_assets
from certplatform.content.schemas import CourseSpec, LessonSpec, ModuleSpec, QuizSpec
from certplatform.content.tree import (
    ContentError,
    ContentTree,
    LoadedCourse,
    LoadedExam,
    LoadedLesson,
    LoadedModule,
)
from certplatform.content.yamlsrc import YamlDoc, find_scalar, line_of, read_yaml, validate
from certplatform.sandbox import kinds

M = TypeVar("M", bound=BaseModel)
LANGUAGES = ("zh", "en")


def load_content(root: Path) -> ContentTree:
    """Load and check everything under `root/courses` and `root/exams`.

    Every problem becomes a ContentError; loading never stops at the first. `courses` holds what is valid:
    a course, module or lesson whose own YAML fails its schema is left out (a lesson also when a body is
    missing), a module without a valid quiz keeps `quiz=None`, and link or asset errors leave the lesson in.
    So the tree is complete only when `errors` is empty, which is why the sync refuses to run otherwise.
    """
    root = Path(root)
    version, symlinks = content_version(root)
    loader = _Loader(root)
    courses = loader.load_courses()
    exams = load_exams(loader, kinds.registered(), kinds.RUNTIMES)
    tables = chip_tables.check_tables(root, loader.rel)
    errors = [*symlinks, *loader.finish(), *_exam_levels(courses, exams), *tables]
    return ContentTree(root=root, version=version, courses=tuple(courses), errors=tuple(errors), exams=tuple(exams))


def _exam_levels(courses: list[LoadedCourse], exams: list[LoadedExam]) -> list[ContentError]:
    """A course's exam, when present, must certify the course's level."""
    by_slug = {e.slug: e for e in exams}
    errors = []
    for course in courses:
        exam = by_slug.get(course.spec.exam)
        if exam is not None and exam.spec.level != course.spec.level:
            msg = f"exam {exam.slug!r} is level {exam.spec.level}, but the course {course.path} is {course.spec.level}"
            errors.append(ContentError(f"{exam.path}/exam.yaml", None, msg))
    return errors


def content_version(root: Path) -> tuple[str, list[ContentError]]:
    """sha256 (16 hex chars) over every file under courses/ and exams/, plus an error per symlink in courses/.

    Symlinks are hashed by their target, never followed: content could otherwise publish files from
    outside the repository.
    """
    entries: list[tuple[str, bytes]] = []
    errors: list[ContentError] = []
    for top in ("courses", "exams"):
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            folder = Path(dirpath)
            for name in [*dirnames, *filenames]:
                path = folder / name
                rel = path.relative_to(root).as_posix()
                if path.is_symlink():
                    entries.append((rel, b"symlink:" + os.fsencode(os.readlink(path))))
                    if top == "courses":
                        errors.append(ContentError(rel, None, "symbolic links are not allowed in content"))
                elif name in filenames:
                    entries.append((rel, path.read_bytes()))
    digest = hashlib.sha256()
    for rel, data in sorted(entries):
        digest.update(b"%s\0%d\0" % (rel.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()[:16], errors


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[ContentError] = []
        self.uuids: list[tuple[str, str, int]] = []  # (uuid, file, line) of every uuid written anywhere
        self.lesson_dirs: set[str] = set()  # lesson folders listed in some module: valid link targets
        self.bodies: list[tuple[str, str, str, frozenset[str]]] = []  # (markdown, file, lesson dir, assets)
        self.course_docs: list[tuple[CourseSpec, YamlDoc]] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def load_courses(self) -> list[LoadedCourse]:
        base = self.root / "courses"
        if not base.is_dir():
            return []
        folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
        return [c for c in (self.course(f) for f in folders) if c is not None]

    def finish(self) -> list[ContentError]:
        """Checks that need the whole tree: links between lessons, duplicate UUIDs, levels and exams."""
        lesson_dirs = frozenset(self.lesson_dirs)
        for text, file, lesson_dir, assets in self.bodies:
            self.errors += check_lesson_markdown(text, file, lesson_dir, lesson_dirs, assets)
        first: dict[str, tuple[str, int]] = {}
        for uuid, file, line in self.uuids:  # in reading order: a course before its modules, a module first
            if uuid in first:
                where = "{}:{}".format(*first[uuid])
                self.errors.append(ContentError(file, line, f"duplicate uuid {uuid}: already used in {where}"))
            else:
                first[uuid] = (file, line)
        for field in ("level", "exam"):
            seen: dict[str, str] = {}
            for spec, doc in self.course_docs:
                value = getattr(spec, field)
                if value in seen:
                    msg = f"duplicate course {field} {value!r}: {seen[value]} already has it"
                    self.errors.append(ContentError(doc.file, line_of(doc.node, (field,)), msg))
                else:
                    seen[value] = doc.file
        return self.errors

    def read(self, path: Path, model: type[M], what: str) -> tuple[M | None, YamlDoc | None]:
        """Parse and validate one YAML file, noting the UUIDs it declares."""
        file = self.rel(path)
        if not path.is_file():
            self.errors.append(ContentError(file, None, f"missing {path.name}: every {what} needs one"))
            return None, None
        doc, errors = read_yaml(path, file)
        self.errors += errors
        if doc is None:
            return None, None
        self.note_uuids(doc, model)
        spec, errors = validate(doc, model)
        self.errors += errors
        return spec, doc

    def note_uuids(self, doc: YamlDoc, model: type[BaseModel]) -> None:
        """Record the UUIDs `doc` declares, from the raw YAML: a file failing its schema still counts."""
        questions = doc.data.get("questions")
        paths: list[tuple[str | int, ...]] = [("uuid",)]
        if model is QuizSpec and isinstance(questions, list):
            paths += [("questions", i, "uuid") for i in range(len(questions))]
        for path in paths:
            node = find_scalar(doc.node, path)
            if node is None:
                continue
            try:
                uuid = str(UUID(node.value))
            except ValueError:
                continue  # malformed: the schema reports it
            self.uuids.append((uuid, doc.file, node.start_mark.line + 1))

    def children(self, folder: Path, doc: YamlDoc | None, field: str, what: str) -> Iterator[Path]:
        """The subfolders `doc[field]` lists, with an error for each listed one missing and each one unlisted.

        When the YAML is too broken to say, every subfolder is loaded, so its own errors are still found.
        """
        present = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        listed = doc.data.get(field) if doc else None
        if doc is None or not isinstance(listed, list):
            yield from (folder / name for name in present)
            return
        names = [n for n in listed if isinstance(n, str)]
        for i, name in enumerate(listed):
            if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", ".."):
                continue  # not a folder name: the schema reports it, and it must not be followed
            if (folder / name).is_dir():
                yield folder / name
            else:
                missing = f"{what} {name!r} is listed but {self.rel(folder)}/{name}/ does not exist"
                self.errors.append(ContentError(doc.file, line_of(doc.node, (field, i)), missing))
        for name in present:
            if name not in names:
                msg = f"folder not listed in {doc.file} ({field}): its content would never be published"
                self.errors.append(ContentError(f"{self.rel(folder / name)}/", None, msg))

    def course(self, folder: Path) -> LoadedCourse | None:
        spec, doc = self.read(folder / "course.yaml", CourseSpec, "course")
        modules = [m for m in (self.module(f) for f in self.children(folder, doc, "modules", "module")) if m]
        if spec is None or doc is None:
            return None
        self.course_docs.append((spec, doc))
        return LoadedCourse(slug=folder.name, path=self.rel(folder), spec=spec, modules=tuple(modules))

    def module(self, folder: Path) -> LoadedModule | None:
        spec, doc = self.read(folder / "module.yaml", ModuleSpec, "module")
        quiz, _ = self.read(folder / "quiz.yaml", QuizSpec, "module")
        children = self.children(folder, doc, "lessons", "lesson")
        lessons = [lesson for lesson in (self.lesson(f) for f in children) if lesson]
        if spec is None:
            return None
        return LoadedModule(slug=folder.name, path=self.rel(folder), spec=spec, lessons=tuple(lessons), quiz=quiz)

    def lesson(self, folder: Path) -> LoadedLesson | None:
        rel = self.rel(folder)
        self.lesson_dirs.add(rel)
        spec, _ = self.read(folder / "lesson.yaml", LessonSpec, "lesson")
        assets = list_assets(folder / "assets")
        for asset in assets:
            self.errors += check_asset(folder / "assets" / asset, f"{rel}/assets/{asset}")
        body: dict[str, str] = {}
        for lang in LANGUAGES:
            path = folder / f"lesson.{lang}.md"
            if not path.is_file():
                self.errors.append(ContentError(self.rel(path), None, f"missing {path.name}: every lesson needs one"))
                continue
            try:
                body[lang] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.errors.append(ContentError(self.rel(path), None, f"cannot read: {exc}"))
                continue
            self.bodies.append((body[lang], self.rel(path), rel, frozenset(assets)))
        if spec is None or len(body) != len(LANGUAGES):
            return None
        return LoadedLesson(slug=folder.name, path=rel, spec=spec, body=body, assets=tuple(assets))
