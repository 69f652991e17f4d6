"""Enrolment and progress: what a learner has read, passed and where to continue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import Course, CourseModule, Enrollment, Lesson, LessonProgress, Quiz, QuizAttempt, User
from certplatform.models.types import utcnow


def live_courses() -> list[Course]:
    return list(db.session.scalars(sa.select(Course).where(Course.deleted_at.is_(None)).order_by(Course.level)))


def course_by_slug(slug: str) -> Course | None:
    return db.session.scalar(sa.select(Course).where(Course.slug == slug, Course.deleted_at.is_(None)))


def live_modules(course: Course) -> list[CourseModule]:
    return [m for m in course.modules if m.live]


def live_lessons(module: CourseModule) -> list[Lesson]:
    return [lesson for lesson in module.lessons if lesson.live]


def live_quiz(module: CourseModule) -> Quiz | None:
    quiz = module.quiz
    return quiz if quiz is not None and quiz.deleted_at is None else None


def enrollment(user: User, course: Course) -> Enrollment | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        sa.select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )


def enroll(user: User, course: Course) -> Enrollment:
    """Enrol `user` in `course`; enrolling twice changes nothing."""
    existing = enrollment(user, course)
    if existing is not None:
        return existing
    row = Enrollment(user_id=user.id, course_id=course.id)
    db.session.add(row)
    db.session.commit()
    return row


def record_view(user: User, lesson: Lesson) -> None:
    row = db.session.scalar(
        sa.select(LessonProgress).where(LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson.id)
    )
    if row is None:
        db.session.add(LessonProgress(user_id=user.id, lesson_id=lesson.id))
    else:
        row.last_viewed_at = utcnow()
    db.session.commit()


@dataclass(frozen=True)
class ModuleProgress:
    module: CourseModule
    lessons: list[Lesson]
    viewed: frozenset[int]
    best_score: float | None
    has_quiz: bool
    gates: bool = False  # its quiz must be passed before later modules open

    @property
    def quiz_passed(self) -> bool:
        return not self.has_quiz or (self.best_score is not None and self.best_score >= self.module.pass_threshold)

    @property
    def complete(self) -> bool:
        return all(lesson.id in self.viewed for lesson in self.lessons) and self.quiz_passed


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    modules: list[ModuleProgress]
    last_viewed: Lesson | None
    last_viewed_at: datetime | None

    @property
    def steps_total(self) -> int:
        return sum(len(m.lessons) + int(m.has_quiz) for m in self.modules)

    @property
    def steps_done(self) -> int:
        return sum(len(m.viewed) + int(m.has_quiz and m.quiz_passed) for m in self.modules)

    @property
    def percent(self) -> int:
        total = self.steps_total
        return 100 if total == 0 else int(100 * self.steps_done / total)

    @property
    def complete(self) -> bool:
        return bool(self.modules) and all(m.complete for m in self.modules)

    @property
    def blocking_gate(self) -> ModuleProgress | None:
        """The read module whose gating quiz must be passed before the next unread lesson opens."""
        for m in self.modules:
            if any(lesson.id not in m.viewed for lesson in m.lessons):
                return None
            if m.gates and not m.quiz_passed:
                return m
        return None

    @property
    def next_lesson(self) -> Lesson | None:
        """Where to continue: the first lesson not read yet (before a gate not passed), else the last one read."""
        for m in self.modules:
            for lesson in m.lessons:
                if lesson.id not in m.viewed:
                    return lesson
            if m.gates and not m.quiz_passed:
                break
        return self.last_viewed


def course_progress(user: User, course: Course) -> CourseProgress:
    """Progress through `course` in three queries, whatever its size."""
    modules = live_modules(course)
    lessons_by_module = {m.id: live_lessons(m) for m in modules}
    lesson_ids = [lesson.id for lessons in lessons_by_module.values() for lesson in lessons]
    viewed_rows = (
        db.session.execute(
            sa.select(LessonProgress.lesson_id, LessonProgress.last_viewed_at).where(
                LessonProgress.user_id == user.id, LessonProgress.lesson_id.in_(lesson_ids)
            )
        ).all()
        if lesson_ids
        else []
    )
    viewed = {row.lesson_id for row in viewed_rows}
    quizzes = {m.id: live_quiz(m) for m in modules}
    quiz_ids = [q.id for q in quizzes.values() if q is not None]
    best = (
        dict(
            db.session.execute(
                sa.select(QuizAttempt.quiz_id, sa.func.max(QuizAttempt.score))
                .where(QuizAttempt.user_id == user.id, QuizAttempt.quiz_id.in_(quiz_ids))
                .group_by(QuizAttempt.quiz_id)
            ).all()
        )
        if quiz_ids
        else {}
    )
    last = max(viewed_rows, key=lambda r: r.last_viewed_at, default=None)
    lesson_by_id = {lesson.id: lesson for lessons in lessons_by_module.values() for lesson in lessons}
    return CourseProgress(
        course=course,
        modules=[
            ModuleProgress(
                module=m,
                lessons=lessons_by_module[m.id],
                viewed=frozenset(lesson.id for lesson in lessons_by_module[m.id] if lesson.id in viewed),
                best_score=best.get(quizzes[m.id].id) if quizzes[m.id] else None,
                has_quiz=quizzes[m.id] is not None,
                gates=bool(quizzes[m.id] and quizzes[m.id].gates),
            )
            for m in modules
        ],
        last_viewed=lesson_by_id.get(last.lesson_id) if last else None,
        last_viewed_at=last.last_viewed_at if last else None,
    )


def module_locks(progress: CourseProgress) -> dict[int, CourseModule]:
    """Module id -> the earlier module whose gating quiz is not passed yet, for every module still locked."""
    locks: dict[int, CourseModule] = {}
    gate: CourseModule | None = None
    for mp in progress.modules:
        if gate is not None:
            locks[mp.module.id] = gate
        elif mp.gates and not mp.quiz_passed:
            gate = mp.module
    return locks


def my_learning(user: User) -> list[CourseProgress]:
    """Progress in every live course the user is enrolled in, most recently studied first."""
    courses = db.session.scalars(
        sa.select(Course)
        .join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.user_id == user.id, Course.deleted_at.is_(None))
        .order_by(Course.level)
    ).all()
    progress = [course_progress(user, c) for c in courses]
    epoch = datetime.min.replace(tzinfo=utcnow().tzinfo)
    return sorted(progress, key=lambda p: p.last_viewed_at or epoch, reverse=True)


def neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    """The lessons before and after `lesson` across the whole course, in reading order."""
    ordered = [x for m in live_modules(lesson.module.course) for x in live_lessons(m)]
    i = next(i for i, x in enumerate(ordered) if x.id == lesson.id)
    return (ordered[i - 1] if i > 0 else None, ordered[i + 1] if i + 1 < len(ordered) else None)
