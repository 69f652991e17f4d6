"""Schemas of the content files. `extra="forbid"` everywhere: an unknown field is an error, not a silent no-op."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from certplatform.i18n import locale_for_tag
from certplatform.models import Locale

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")]
Level = Literal["L1", "L2", "L3"]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
MIN_QUIZ_QUESTIONS = 5


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both interface languages."""

    zh: NonEmpty = Field(description="Simplified Chinese")
    en: NonEmpty = Field(description="English")

    def get(self, locale: str) -> str:
        return self.zh if locale_for_tag(locale) is Locale.ZH_CN else self.en


Skill = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
MAX_SKILLS = 12


class SkillText(Strict):
    """One skill a level certifies, short enough for a tag on the public certificate page."""

    zh: Skill = Field(description="Simplified Chinese, at most 60 characters")
    en: Skill = Field(description="English, at most 60 characters")


class CourseSpec(Strict):
    """`courses/<level>/course.yaml`: one course per certification level."""

    uuid: UUID = Field(description="Stable identity; never change it, even when the folder is renamed")
    level: Level = Field(description="Certification level the course prepares for")
    exam: Slug = Field(description="Folder name of the level's exam under exams/")
    title: Text
    summary: Text
    certifies: Text = Field(description="What holding this level certifies")
    skills: list[SkillText] = Field(
        default_factory=list,
        max_length=MAX_SKILLS,
        description="The skills a certificate of this level certifies, shown as tags on the public certificate page",
    )
    exam_format: Text = Field(description="How the practical exam and review work")
    prerequisites: list[Level] = Field(default_factory=list, description="Levels certified before this exam")
    modules: list[Slug] = Field(min_length=1, description="Module folder names, in order")

    @model_validator(mode="after")
    def _unique_modules(self) -> CourseSpec:
        _no_duplicates(self.modules, "module")
        _no_duplicates([skill.en.casefold() for skill in self.skills], "skill (en)")
        _no_duplicates([skill.zh for skill in self.skills], "skill (zh)")
        if self.level in self.prerequisites:
            raise ValueError("a level cannot be its own prerequisite")
        return self


class ModuleSpec(Strict):
    """`courses/<level>/<module>/module.yaml`."""

    uuid: UUID
    title: Text
    summary: Text
    pass_threshold: float = Field(gt=0, le=1, description="Quiz score (0..1] that completes the module")
    lessons: list[Slug] = Field(min_length=1, description="Lesson folder names, in order")

    @model_validator(mode="after")
    def _unique_lessons(self) -> ModuleSpec:
        _no_duplicates(self.lessons, "lesson")
        return self


class LessonSpec(Strict):
    """`courses/<level>/<module>/<lesson>/lesson.yaml`, next to lesson.zh.md and lesson.en.md."""

    uuid: UUID
    title: Text
    summary: Text
    duration_minutes: int = Field(ge=1, le=600, description="Expected reading and practice time")


class Option(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,8}$")] = Field(description="Short id, e.g. a")
    text: Text


class NumericAnswer(Strict):
    value: float
    tolerance: float = Field(default=0, ge=0, description="Accepted absolute difference")


class Question(Strict):
    uuid: UUID
    kind: Literal["single", "multiple", "numeric"]
    prompt: Text = Field(description="Markdown")
    options: list[Option] | None = Field(default=None, description="single and multiple only")
    answer: str | list[str] | NumericAnswer = Field(
        description="single: an option id; multiple: a list of option ids; numeric: {value, tolerance}"
    )
    explanation: Text = Field(description="Shown after submission")

    @model_validator(mode="after")
    def _answer_fits_kind(self) -> Question:
        if self.kind == "numeric":
            if self.options:
                raise ValueError("a numeric question has no options")
            if not isinstance(self.answer, NumericAnswer):
                raise ValueError("a numeric question needs answer: {value: ..., tolerance: ...}")
            return self
        ids = [o.id for o in self.options or []]
        if len(ids) < 2:
            raise ValueError(f"a {self.kind} question needs at least two options")
        _no_duplicates(ids, "option id")
        if self.kind == "single":
            if not isinstance(self.answer, str):
                raise ValueError("a single-choice answer is one option id")
            if self.answer not in ids:
                raise ValueError(f"no correct answer: {self.answer!r} is not one of the options {ids}")
        else:
            if not isinstance(self.answer, list) or not self.answer:
                raise ValueError("no correct answer: a multiple-choice answer is a non-empty list of option ids")
            _no_duplicates(self.answer, "answer id")
            unknown = [a for a in self.answer if a not in ids]
            if unknown:
                raise ValueError(f"no correct answer: {unknown} are not options {ids}")
        return self


MIN_DRAW = 3


class AttemptLimit(Strict):
    """How often a learner may try: `max_attempts` tries, then `cooldown_minutes` before the next ones."""

    max_attempts: int = Field(ge=1, le=20, description="Attempts allowed before the cooldown starts")
    cooldown_minutes: int = Field(ge=1, le=60 * 24 * 30, description="Wait after the last allowed attempt failed")


class QuizSpec(Strict):
    """`courses/<level>/<module>/quiz.yaml`: the knowledge check that ends a module, drawn from a pool of questions."""

    uuid: UUID
    title: Text
    questions: list[Question] = Field(
        min_length=MIN_QUIZ_QUESTIONS, description="The pool; each attempt draws `draw` of them at random"
    )
    draw: int | None = Field(
        default=None, ge=MIN_DRAW, description="Questions drawn per attempt (default: the whole pool)"
    )
    attempts: AttemptLimit | None = Field(default=None, description="Limit with cooldown (default: unlimited)")
    reveal: Literal["after_each_attempt", "passed_or_out_of_attempts"] = Field(
        default="passed_or_out_of_attempts",
        description="When correct answers and explanations are shown: after every attempt, or only once the "
        "module is passed or the attempts before a cooldown are used up",
    )
    gate: bool = Field(default=False, description="Later modules stay locked until this quiz is passed")

    @model_validator(mode="after")
    def _draw_fits_pool(self) -> QuizSpec:
        if self.draw is not None and self.draw > len(self.questions):
            raise ValueError(f"draw: {self.draw} questions cannot be drawn from a pool of {len(self.questions)}")
        return self


def _no_duplicates(items: list[str], what: str) -> None:
    seen: set[str] = set()
    dup = sorted({i for i in items if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dup:
        raise ValueError(f"duplicate {what}: {', '.join(dup)}")


SCHEMAS: dict[str, type[Strict]] = {
    "course": CourseSpec,
    "module": ModuleSpec,
    "lesson": LessonSpec,
    "quiz": QuizSpec,
}


TaskId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class TaskLimits(Strict):
    """Resources one grading run of a task may use; the sandbox enforces every one."""

    wall_seconds: int = Field(ge=1, le=1800, description="Wall-clock limit for the whole task run")
    memory_mb: int = Field(ge=64, le=16384, description="Memory, swap included")
    pids: int = Field(ge=16, le=4096, description="Processes and threads")
    cpus: float = Field(gt=0, le=8, description="CPU quota in cores")
    file_size_mb: int = Field(ge=1, le=1024, description="Largest file the run may write")
    output_kb: int = Field(ge=1, le=10240, description="Captured stdout+stderr kept for the candidate")


class ExamTaskSpec(Strict):
    id: TaskId = Field(description="Folder name under tasks/")
    kind: str = Field(min_length=1, description="Task kind registered with the grader, e.g. triton_op")
    weight: float = Field(gt=0, description="Relative weight in the exam score")
    limits: TaskLimits


class AttemptPolicy(Strict):
    cooldown_hours: float = Field(default=24, ge=0, description="Wait after a failed attempt")
    max_attempts: int = Field(default=3, ge=1, description="Attempts allowed within the window")
    window_days: int = Field(default=365, ge=1, description="Window in which attempts are counted")


class RubricLevel(Strict):
    points: int = Field(ge=0, le=100)
    descriptor: Text = Field(description="What work at this level looks like")


class RubricCriterion(Strict):
    id: TaskId = Field(description="Stable id of the criterion, e.g. numerical_stability")
    title: Text
    levels: list[RubricLevel] = Field(min_length=2, description="From weakest to strongest")

    @model_validator(mode="after")
    def _ascending(self) -> RubricCriterion:
        points = [level.points for level in self.levels]
        if points != sorted(set(points)):
            raise ValueError("levels must have distinct points in ascending order")
        return self


class ReviewPolicy(Strict):
    approvals_required: int = Field(default=1, ge=1, le=3, description="Independent mentor approvals to certify")
    resubmit_days: int = Field(default=14, ge=1, le=90, description="Time to revise after changes are requested")
    similarity_threshold: float | None = Field(
        default=None,
        ge=0.05,
        le=1,
        description="Share of matching code from which two candidates' submissions are flagged to the mentors "
        "(default: the platform's SIMILARITY_THRESHOLD)",
    )


class ExamSpec(Strict):
    """`exams/<exam>/exam.yaml`, with `tasks/<id>/{prompt.zh.md, prompt.en.md, starter.py, solution.py, tests/}`."""

    uuid: UUID
    level: Level
    title: Text
    instructions: Text
    time_limit_minutes: int = Field(ge=1, le=24 * 60, description="How long an attempt stays open")
    pass_mark: float = Field(gt=0, le=1, description="Weighted score that passes to mentor review")
    attempt_policy: AttemptPolicy = Field(default_factory=AttemptPolicy)
    runtime: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")] = Field(
        description="Sandbox runtime folder under sandboxes/"
    )
    tasks: list[ExamTaskSpec] = Field(min_length=1)
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    rubric: list[RubricCriterion] = Field(min_length=1, description="What mentors score in the review stage")

    @model_validator(mode="after")
    def _unique_tasks(self) -> ExamSpec:
        _no_duplicates([t.id for t in self.tasks], "task id")
        _no_duplicates([c.id for c in self.rubric], "rubric criterion")
        return self


SCHEMAS["exam"] = ExamSpec
