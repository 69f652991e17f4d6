"""The online-learning step: catalogue, lessons, quizzes and progress."""

from __future__ import annotations

import os

from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from certplatform.authz import login_required, public
from certplatform.extensions import db, limiter
from certplatform.forms import ActionForm
from certplatform.learn import bp
from certplatform.learn.rendering import inline_html, lesson_html, lesson_url, markdown_html, number, text
from certplatform.models import Lesson, QuizAttempt
from certplatform.services import eligibility, learning, quiz_policy, quizzes

bp.add_app_template_global(text, "t")
bp.add_app_template_global(inline_html, "ti")
bp.add_app_template_global(lesson_url)
bp.add_app_template_global(markdown_html, "md")
bp.add_app_template_global(number)


def _course_or_404(slug: str):
    course = learning.course_by_slug(slug)
    if course is None:
        abort(404)
    return course


def _module_or_404(course, slug: str):
    module = next((m for m in learning.live_modules(course) if m.slug == slug), None)
    if module is None:
        abort(404)
    return module


def _require_enrollment(course):
    if learning.enrollment(current_user, course) is None:
        flash(_("Enrol in the course to open its lessons and quizzes."), "info")
        return redirect(url_for("learn.course", course=course.slug))
    return None


@bp.get("/courses/")
@public
def catalogue():
    """The three levels: what each certifies, the exam, prerequisites, and your progress."""
    courses = learning.live_courses()
    progress = {}
    if current_user.is_authenticated:
        progress = {p.course.id: p for p in learning.my_learning(current_user)}
    return render_template("learn/catalogue.html", courses=courses, progress=progress)


@bp.get("/courses/<course>/")
@public
def course(course: str):
    """A course's syllabus; for enrolled learners, progress and exam eligibility."""
    course_row = _course_or_404(course)
    enrolled = learning.enrollment(current_user, course_row) is not None
    progress = learning.course_progress(current_user, course_row) if enrolled else None
    exam = eligibility.exam_eligibility(current_user, course_row) if enrolled else None
    return render_template(
        "learn/course.html",
        course=course_row,
        modules=learning.live_modules(course_row),
        live_lessons=learning.live_lessons,
        enrolled=enrolled,
        progress=progress,
        exam=exam,
        locks=learning.module_locks(progress) if progress else {},
        form=ActionForm(),
    )


@bp.post("/courses/<course>/enroll")
@login_required
def enroll(course: str):
    """Enrol in a course (idempotent)."""
    course_row = _course_or_404(course)
    if ActionForm().validate_on_submit():
        learning.enroll(current_user, course_row)
        flash(_("You are enrolled. Start with the first lesson."), "success")
    return redirect(url_for("learn.course", course=course_row.slug))


@bp.get("/courses/<course>/<module>/<lesson>/")
@login_required
def lesson(course: str, module: str, lesson: str):
    """One lesson in the reader's language; opening it counts as reading it."""
    course_row = _course_or_404(course)
    module_row = _module_or_404(course_row, module)
    lesson_row = next((x for x in learning.live_lessons(module_row) if x.slug == lesson), None)
    if lesson_row is None:
        abort(404)
    if (gate := _require_enrollment(course_row) or _gate(course_row, module_row)) is not None:
        return gate
    learning.record_view(current_user, lesson_row)
    previous, following = learning.neighbours(lesson_row)
    return render_template(
        "learn/lesson.html",
        course=course_row,
        module=module_row,
        lesson=lesson_row,
        body=lesson_html(lesson_row),
        previous=previous,
        following=following,
        quiz=learning.live_quiz(module_row),
    )


def _gate(course, module):
    """Redirect to the syllabus while an earlier module's gating quiz is not passed."""
    locks = learning.module_locks(learning.course_progress(current_user, course))
    gate = locks.get(module.id)
    if gate is None:
        return None
    flash(_("This module opens once you pass the knowledge check of “%(module)s”.", module=text(gate.title)), "info")
    return redirect(url_for("learn.course", course=course.slug))


def _render_quiz(course, module, quiz, draw, standing, read=None, stale=False):
    return render_template(
        "learn/quiz.html",
        course=course,
        module=module,
        quiz=quiz,
        draw=draw,
        questions=quiz_policy.questions(quiz, draw) if draw else [],
        field_name=quizzes.field_name,
        standing=standing,
        read=read,
        stale=stale,
        form=ActionForm(),
    ), (400 if read is not None or stale else 200)


@bp.route("/courses/<course>/<module>/quiz", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["QUIZ_RATE_LIMIT"], methods=["POST"])
def quiz(course: str, module: str):
    """The module's knowledge check: this attempt's questions without answers; graded on the server when handed in."""
    course_row = _course_or_404(course)
    module_row = _module_or_404(course_row, module)
    quiz_row = learning.live_quiz(module_row)
    if quiz_row is None:
        abort(404)
    if (gate := _require_enrollment(course_row) or _gate(course_row, module_row)) is not None:
        return gate
    standing = quiz_policy.standing(current_user, quiz_row)
    if standing.locked:
        return _render_quiz(course_row, module_row, quiz_row, None, standing)
    draw = quiz_policy.open_draw(current_user, quiz_row)
    if not ActionForm().validate_on_submit():
        return _render_quiz(course_row, module_row, quiz_row, draw, standing)
    read = quizzes.read_answers(quiz_policy.questions(quiz_row, draw), request.form)
    if request.form.get("draw") != str(draw.id):
        return _render_quiz(course_row, module_row, quiz_row, draw, standing, read=read, stale=True)
    if not read.complete:
        return _render_quiz(course_row, module_row, quiz_row, draw, standing, read=read)
    attempt = quizzes.submit(current_user, quiz_row, draw, read, course_row.content_version)
    if attempt is None:
        return redirect(url_for("learn.quiz", course=course_row.slug, module=module_row.slug))
    return redirect(url_for("learn.attempt", course=course_row.slug, module=module_row.slug, attempt_id=attempt.id))


@bp.get("/courses/<course>/<module>/quiz/attempts/<int:attempt_id>")
@login_required
def attempt(course: str, module: str, attempt_id: int):
    """The result of one's own attempt; correct answers and explanations only once the quiz's policy allows."""
    course_row = _course_or_404(course)
    module_row = _module_or_404(course_row, module)
    attempt_row = db.session.get(QuizAttempt, attempt_id)
    if attempt_row is None or attempt_row.user_id != current_user.id or attempt_row.quiz.module_id != module_row.id:
        abort(404)
    standing = quiz_policy.standing(current_user, attempt_row.quiz)
    return render_template(
        "learn/attempt.html",
        course=course_row,
        module=module_row,
        attempt=attempt_row,
        questions=quizzes.attempt_questions(attempt_row),
        standing=standing,
        revealed=standing.reveals(attempt_row),
        progress=learning.course_progress(current_user, course_row),
    )


@bp.get("/learning")
@login_required
def mine():
    """My learning: every enrolled course with its progress and where to continue."""
    return render_template("learn/mine.html", progress=learning.my_learning(current_user))


@bp.get("/courses/assets/<int:lesson_id>/<filename>")
@public
def asset(lesson_id: int, filename: str):
    """A lesson's image, only if the synced lesson lists it; served so that it can never run script here."""
    lesson_row = db.session.get(Lesson, lesson_id)
    if lesson_row is None or lesson_row.deleted_at is not None or filename not in lesson_row.assets:
        abort(404)
    folder = os.path.join(current_app.config["CONTENT_ROOT"], lesson_row.path, "assets")
    response = send_from_directory(folder, filename, max_age=3600)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
