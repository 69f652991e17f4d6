"""Project the content files into the database: one transaction, upsert by UUID, soft-delete what left the disk."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from certplatform.content.loader import load_content
from certplatform.content.tree import ContentError, ContentTree, LoadedExam
from certplatform.extensions import db
from certplatform.models import (
    AnswerReveal,
    CertLevel,
    ContentSync,
    Course,
    CourseModule,
    Exam,
    ExamTask,
    Lesson,
    QuestionKind,
    Quiz,
    QuizQuestion,
    SyncStatus,
    User,
)
from certplatform.models.types import utcnow
from certplatform.services import audit

SYNCED_MODELS = (Course, CourseModule, Lesson, Quiz, QuizQuestion, Exam, ExamTask)


class SyncError(RuntimeError):
    """The content has errors; nothing was changed. `errors` lists them all."""

    def __init__(self, errors: tuple[ContentError, ...]) -> None:
        self.errors = errors
        lines = "\n".join(str(e) for e in errors)
        super().__init__(f"content has {len(errors)} error(s); nothing was synced:\n{lines}")


@dataclass
class SyncReport:
    version: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    restored: Counter[str] = field(default_factory=Counter)
    deleted: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return any(sum(c.values()) for c in (self.created, self.updated, self.restored, self.deleted))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {k: dict(getattr(self, k)) for k in ("created", "updated", "restored", "deleted")}

    def __str__(self) -> str:
        parts = [
            f"{verb} {', '.join(f'{n} {kind}' for kind, n in sorted(counts.items()))}"
            for verb, counts in self.as_dict().items()
            if counts
        ]
        return f"content version {self.version}: " + ("; ".join(parts) if parts else "no changes")


class _Upserter:
    """Creates, updates or restores rows by UUID, remembering which UUIDs the files still contain."""

    def __init__(self, report: SyncReport) -> None:
        self.report = report
        self.seen: dict[type, set[Any]] = {m: set() for m in SYNCED_MODELS}
        self.existing = {m: {row.uuid: row for row in db.session.scalars(sa.select(m))} for m in SYNCED_MODELS}

    def __call__(self, model: type, uuid: Any, **values: Any) -> Any:
        name = model.__tablename__
        self.seen[model].add(uuid)
        row = self.existing[model].get(uuid)
        if row is None:
            row = model(uuid=uuid, **values)
            db.session.add(row)
            self.existing[model][uuid] = row
            self.report.created[name] += 1
            return row
        changed = False
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                changed = True
        if row.deleted_at is not None:
            row.deleted_at = None
            self.report.restored[name] += 1
        elif changed:
            self.report.updated[name] += 1
        return row

    def soft_delete_unseen(self) -> None:
        now = utcnow()
        for model, rows in self.existing.items():
            for key, row in rows.items():
                if key not in self.seen[model] and row.deleted_at is None:
                    row.deleted_at = now
                    self.report.deleted[model.__tablename__] += 1


def _text(t: Any) -> dict[str, str]:
    return {"zh": t.zh, "en": t.en}


def _answer(answer: Any) -> Any:
    return answer.model_dump() if hasattr(answer, "model_dump") else answer


def apply_tree(tree: ContentTree, actor: User | None = None) -> SyncReport:
    """Apply a loaded, error-free tree in the current transaction (the caller commits)."""
    report = SyncReport(tree.version)
    upsert = _Upserter(report)
    for course in tree.courses:
        c = course.spec
        course_row = upsert(
            Course,
            c.uuid,
            slug=course.slug,
            level=CertLevel(c.level),
            exam_slug=c.exam,
            title=_text(c.title),
            summary=_text(c.summary),
            certifies=_text(c.certifies),
            skills=[_text(skill) for skill in c.skills],
            exam_format=_text(c.exam_format),
            prerequisites=list(c.prerequisites),
            content_version=tree.version,
        )
        db.session.flush()
        for m_pos, module in enumerate(course.modules):
            m = module.spec
            module_row = upsert(
                CourseModule,
                m.uuid,
                course_id=course_row.id,
                slug=module.slug,
                position=m_pos,
                title=_text(m.title),
                summary=_text(m.summary),
                pass_threshold=m.pass_threshold,
            )
            db.session.flush()
            for l_pos, lesson in enumerate(module.lessons):
                s = lesson.spec
                upsert(
                    Lesson,
                    s.uuid,
                    module_id=module_row.id,
                    slug=lesson.slug,
                    position=l_pos,
                    title=_text(s.title),
                    summary=_text(s.summary),
                    duration_minutes=s.duration_minutes,
                    path=lesson.path,
                    body_zh=lesson.body["zh"],
                    body_en=lesson.body["en"],
                    assets=list(lesson.assets),
                )
            if module.quiz is not None:
                q = module.quiz
                quiz_row = upsert(
                    Quiz,
                    q.uuid,
                    module_id=module_row.id,
                    title=_text(q.title),
                    draw_size=q.draw,
                    max_attempts=q.attempts.max_attempts if q.attempts else None,
                    cooldown_minutes=q.attempts.cooldown_minutes if q.attempts else None,
                    reveal=AnswerReveal(q.reveal),
                    gates=q.gate,
                )
                db.session.flush()
                for q_pos, question in enumerate(q.questions):
                    upsert(
                        QuizQuestion,
                        question.uuid,
                        quiz_id=quiz_row.id,
                        position=q_pos,
                        kind=QuestionKind(question.kind),
                        prompt=_text(question.prompt),
                        options=[{"id": o.id, "text": _text(o.text)} for o in question.options or []],
                        answer=_answer(question.answer),
                        explanation=_text(question.explanation),
                    )
    for exam in tree.exams:
        _apply_exam(upsert, exam, tree.version)
    upsert.soft_delete_unseen()
    db.session.add(
        ContentSync(
            status=SyncStatus.APPLIED,
            version=tree.version,
            summary=report.as_dict(),
            actor_id=actor.id if actor else None,
        )
    )
    audit.record(actor, "content.sync", "content", tree.version, **report.as_dict())
    return report


def task_uuid(exam_uuid: uuid.UUID, task_id: str) -> uuid.UUID:
    return uuid.uuid5(exam_uuid, task_id)


def _apply_exam(upsert: _Upserter, exam: LoadedExam, version: str) -> None:
    e = exam.spec
    exam_row = upsert(
        Exam,
        e.uuid,
        slug=exam.slug,
        level=CertLevel(e.level),
        title=_text(e.title),
        instructions=_text(e.instructions),
        time_limit_minutes=e.time_limit_minutes,
        pass_mark=e.pass_mark,
        cooldown_hours=e.attempt_policy.cooldown_hours,
        max_attempts=e.attempt_policy.max_attempts,
        window_days=e.attempt_policy.window_days,
        runtime=e.runtime,
        path=exam.path,
        rubric=[c.model_dump(mode="json") for c in e.rubric],
        approvals_required=e.review.approvals_required,
        resubmit_days=e.review.resubmit_days,
        similarity_threshold=e.review.similarity_threshold,
        content_version=version,
    )
    db.session.flush()
    for position, task in enumerate(exam.tasks):
        t = task.spec
        upsert(
            ExamTask,
            task_uuid(e.uuid, t.id),
            exam_id=exam_row.id,
            slug=t.id,
            position=position,
            kind=t.kind,
            weight=t.weight,
            limits=t.limits.model_dump(),
            path=task.path,
            prompt_zh=task.prompt["zh"],
            prompt_en=task.prompt["en"],
            starter=task.starter,
        )


def sync_content(root: Path, actor: User | None = None) -> SyncReport:
    """Load `root` and apply it in one transaction; on any content error change nothing and raise SyncError."""
    tree = load_content(Path(root))
    if tree.errors:
        db.session.rollback()
        db.session.add(
            ContentSync(
                status=SyncStatus.REJECTED,
                version=tree.version,
                errors=[str(e) for e in tree.errors],
                actor_id=actor.id if actor else None,
            )
        )
        db.session.commit()
        raise SyncError(tree.errors)
    try:
        report = apply_tree(tree, actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report
