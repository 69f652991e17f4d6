"""What the loader returns: the content tree as typed objects, plus every error it found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from certplatform.content.schemas import CourseSpec, ExamSpec, ExamTaskSpec, LessonSpec, ModuleSpec, QuizSpec


@dataclass(frozen=True)
class ContentError:
    """One problem, located: `file` relative to the content root, `line` 1-based when known."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedLesson:
    slug: str
    path: str  # relative to the content root, e.g. "courses/l1/01-model/02-masks"
    spec: LessonSpec
    body: dict[str, str]  # {"zh": markdown, "en": markdown}
    assets: tuple[str, ...] = ()  # file names under the lesson's assets/


@dataclass(frozen=True)
class LoadedModule:
    slug: str
    path: str
    spec: ModuleSpec
    lessons: tuple[LoadedLesson, ...]
    quiz: QuizSpec | None


@dataclass(frozen=True)
class LoadedCourse:
    slug: str  # the level folder, e.g. "l1"
    path: str
    spec: CourseSpec
    modules: tuple[LoadedModule, ...]


@dataclass(frozen=True)
class LoadedExamTask:
    spec: ExamTaskSpec
    path: str  # e.g. "exams/l1-operator-dev/tasks/softmax"; tests/ and solution.py stay on disk, never in the database
    prompt: dict[str, str]  # {"zh": markdown, "en": markdown}
    starter: str


@dataclass(frozen=True)
class LoadedExam:
    slug: str
    path: str
    spec: ExamSpec
    tasks: tuple[LoadedExamTask, ...]


@dataclass(frozen=True)
class ContentTree:
    root: Path
    version: str  # a hash of every content file: what attempts and certificates record
    courses: tuple[LoadedCourse, ...] = ()
    errors: tuple[ContentError, ...] = field(default=())
    exams: tuple[LoadedExam, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors
