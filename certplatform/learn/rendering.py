"""Lesson and quiz text in the reader's language, with links that point into this site."""

from __future__ import annotations

import posixpath

import sqlalchemy as sa
from flask import url_for
from markupsafe import Markup

from certplatform.extensions import db
from certplatform.i18n import current_lang, pick
from certplatform.models import Course, CourseModule, Lesson
from certplatform.services.markdown import render, render_inline


def text(value: dict[str, str]) -> str:
    """The reader's language of a bilingual value, falling back to the other one."""
    lang = current_lang()
    return value.get(lang) or value.get("en") or value.get("zh") or ""


def lesson_url(lesson: Lesson) -> str:
    module = lesson.module
    return url_for("learn.lesson", course=module.course.slug, module=module.slug, lesson=lesson.slug)


def _resolver(lesson: Lesson):
    assets = {posixpath.join(lesson.path, "assets", name): name for name in lesson.assets}
    live = db.session.execute(
        sa.select(Lesson.path, Lesson.slug, CourseModule.slug, Course.slug)
        .join(CourseModule, Lesson.module_id == CourseModule.id)
        .join(Course, CourseModule.course_id == Course.id)
        .where(Lesson.deleted_at.is_(None))
    ).all()
    lessons = {row[0]: (row[3], row[2], row[1]) for row in live}

    def resolve(target: str) -> str | None:
        if target in assets:
            return url_for("learn.asset", lesson_id=lesson.id, filename=assets[target])
        if target in lessons:
            course, module, slug = lessons[target]
            return url_for("learn.lesson", course=course, module=module, lesson=slug)
        return None

    return resolve


def lesson_html(lesson: Lesson) -> Markup:
    return Markup(render(pick(lesson.body_zh, lesson.body_en), base=lesson.path, resolve=_resolver(lesson)))  # noqa: S704 - sanitised by nh3


def inline_html(value: dict[str, str]) -> Markup:
    return Markup(render_inline(text(value)))  # noqa: S704 - sanitised by nh3


def number(value: float) -> str:
    """4.0 -> "4", 0.25 -> "0.25": numbers as a person writes them."""
    return f"{value:g}"


def markdown_html(value: dict[str, str]) -> Markup:
    return Markup(render(text(value)))  # noqa: S704 - sanitised by nh3
