"""Courses end to end: sync from files, lessons, quizzes graded on the server, progress and exam eligibility."""

from __future__ import annotations

import shutil
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from certplatform.content.sync import SyncError, sync_content
from certplatform.extensions import db
from certplatform.models import (
    CertLevel,
    ContentSync,
    Course,
    Lesson,
    LessonProgress,
    QuestionKind,
    QuizAttempt,
    QuizQuestion,
    SyncStatus,
)
from certplatform.services import certificates, eligibility, learning, quizzes
from certplatform.services.markdown import render, render_inline
from tests.conftest import post_form
from tests.content.minimal_tree import COURSE, LESSON1, LESSON2, MODULE, edit, uid, write, write_minimal_tree
from tests.exam_fixtures import complete_course
from tests.factories import make_user
from tests.quiz_forms import drawn, hand_in

SECRET = "SECRET-EXPLANATION-42"
ALL_RIGHT = {"a": "a", "b": ["a", "c"], "c": "4", "d": "y", "e": "0.505"}


@pytest.fixture
def content_root(tmp_path: Path) -> Path:
    root = write_minimal_tree(tmp_path / "content")
    edit(
        root,
        f"{MODULE}/quiz.yaml",
        "  answer: a\n  explanation: {zh: 因为, en: Because}",
        f"  answer: a\n  explanation: {{zh: 因为, en: {SECRET}}}",
    )
    return root


@pytest.fixture
def synced(app, content_root: Path) -> Path:
    app.config["CONTENT_ROOT"] = str(content_root)
    sync_content(content_root)
    return content_root


@pytest.fixture
def learner(client, auth, synced):
    user = make_user(email="learner@example.com")
    auth.login(user.email)
    return user


def _answers(quiz, picks: dict[str, object]) -> dict[str, object]:
    """Form data for the minimal quiz; keys a..e name its five questions in order."""
    questions = quizzes.live_questions(quiz)
    return {quizzes.field_name(q): picks[k] for k, q in zip("abcde", questions, strict=True) if k in picks}


def _quiz():
    return db.session.scalar(sa.select(Course)).modules[0].quiz


QUIZ_URL = "/courses/l1/01-basics/quiz"


def _post_quiz(client, picks: dict[str, object], **extra: object):
    """Open the quiz (drawing its questions: here the whole pool) and hand in `picks`."""
    draw, _ = drawn(client, QUIZ_URL, _quiz())
    return post_form(client, QUIZ_URL, {"draw": str(draw.id), **_answers(_quiz(), picks), **extra})


# --- sync ---------------------------------------------------------------------------------------------


def test_sync_creates_everything_and_is_idempotent(app, content_root) -> None:
    first = sync_content(content_root)
    assert first.created == {
        "courses": 1,
        "course_modules": 1,
        "lessons": 2,
        "quizzes": 1,
        "quiz_questions": 5,
    }
    second = sync_content(content_root)
    assert not second.changed and str(second).endswith("no changes")
    runs = db.session.scalars(sa.select(ContentSync).order_by(ContentSync.id)).all()
    assert [r.status for r in runs] == [SyncStatus.APPLIED, SyncStatus.APPLIED]
    assert runs[0].version == first.version == second.version


def test_rename_keeps_learner_progress(app, content_root) -> None:
    sync_content(content_root)
    user = make_user()
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "01-first"))
    learning.record_view(user, lesson)
    # Rename the lesson folder and the module folder on disk; the UUIDs stay.
    (content_root / LESSON1).rename(content_root / f"{MODULE}/01-introduction")
    edit(content_root, f"{MODULE}/module.yaml", "- 01-first", "- 01-introduction")
    edit(content_root, f"{LESSON2}/lesson.zh.md", "../01-first#masks", "../01-introduction#masks")
    edit(content_root, f"{LESSON2}/lesson.en.md", "../01-first#masks", "../01-introduction#masks")
    (content_root / MODULE).rename(content_root / f"{COURSE}/01-foundations")
    edit(content_root, f"{COURSE}/course.yaml", "- 01-basics", "- 01-foundations")
    report = sync_content(content_root)
    assert report.updated["lessons"] == 2 and report.updated["course_modules"] == 1 and not report.created
    renamed = db.session.get(Lesson, lesson.id)
    assert renamed.slug == "01-introduction" and renamed.path == f"{COURSE}/01-foundations/01-introduction"
    assert db.session.scalar(sa.select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id)) == lesson.id


def test_removed_content_is_soft_deleted_and_can_return(app, content_root) -> None:
    sync_content(content_root)
    user = make_user()
    second = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "02-second"))
    learning.record_view(user, second)
    saved = content_root.parent / "saved-lesson"
    shutil.move(content_root / LESSON2, saved)
    edit(content_root, f"{MODULE}/module.yaml", "- 02-second\n", "")
    edit(content_root, f"{LESSON1}/lesson.en.md", "See the [next lesson](../02-second/) and ", "See ")
    edit(content_root, f"{LESSON1}/lesson.zh.md", "See the [next lesson](../02-second/) and ", "See ")
    assert sync_content(content_root).deleted == {"lessons": 1}
    assert db.session.get(Lesson, second.id).deleted_at is not None
    course = db.session.scalar(sa.select(Course))
    assert [x.slug for x in learning.live_lessons(course.modules[0])] == ["01-first"]
    assert db.session.scalar(sa.select(sa.func.count(LessonProgress.id))) == 1, "learner data is kept"

    shutil.move(saved, content_root / LESSON2)
    edit(content_root, f"{MODULE}/module.yaml", "- 01-first\n", "- 01-first\n- 02-second\n")
    assert sync_content(content_root).restored == {"lessons": 1}
    assert db.session.get(Lesson, second.id).deleted_at is None


def test_broken_content_changes_nothing_and_is_shown_to_admins(app, client, auth, content_root) -> None:
    sync_content(content_root)
    edit(content_root, f"{MODULE}/quiz.yaml", "  answer: y", "  answer: z")
    edit(content_root, f"{LESSON1}/lesson.yaml", "duration_minutes: 10", "duration_minutes: 10\ncolour: red")
    with pytest.raises(SyncError) as err:
        sync_content(content_root)
    assert len(err.value.errors) == 2
    rejected = db.session.scalar(sa.select(ContentSync).where(ContentSync.status == SyncStatus.REJECTED))
    assert any("quiz.yaml" in e for e in rejected.errors) and any("colour" in e for e in rejected.errors)
    unchanged = db.session.scalar(sa.select(QuizQuestion).where(QuizQuestion.uuid == uuid.UUID(uid(24))))
    assert unchanged.answer == "y"

    from certplatform.models import Role

    admin = make_user(Role.ADMIN, email="root@example.com")
    auth.login(admin.email)
    page = client.get("/admin/content").get_data(as_text=True)
    assert "quiz.yaml" in page and "colour" in page and "rejected" in page


def test_admin_can_sync_from_the_page(app, client, auth, content_root) -> None:
    from certplatform.models import AuditEvent, Role

    app.config["CONTENT_ROOT"] = str(content_root)
    admin = make_user(Role.ADMIN, email="root@example.com")
    auth.login(admin.email)
    response = post_form(client, "/admin/content", follow_redirects=True)
    assert "created" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Course.id))) == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "content.sync"))
    assert event.actor_id == admin.id


# --- pages --------------------------------------------------------------------------------------------


def test_catalogue_and_syllabus_are_public(client, synced) -> None:
    html = client.get("/courses/").get_data(as_text=True)
    assert "Course" in html and "What it certifies" in html
    syllabus = client.get("/courses/l1/").get_data(as_text=True)
    assert "Lesson 11" in syllabus and "Log in to enrol" in syllabus
    assert client.get("/courses/nope/").status_code == 404


def test_lessons_need_login_and_enrolment(client, auth, synced) -> None:
    assert client.get("/courses/l1/01-basics/01-first/").status_code == 302
    make_user(email="learner@example.com")
    auth.login("learner@example.com")
    gate = client.get("/courses/l1/01-basics/01-first/")
    assert gate.status_code == 302 and gate.location == "/courses/l1/"
    assert post_form(client, "/courses/l1/enroll").status_code == 302
    assert post_form(client, "/courses/l1/enroll").status_code == 302, "enrolling twice is harmless"
    assert client.get("/courses/l1/01-basics/01-first/").status_code == 200


def test_lesson_page_renders_links_assets_and_both_languages(client, learner) -> None:
    post_form(client, "/courses/l1/enroll")
    html = client.get("/courses/l1/01-basics/01-first/").get_data(as_text=True)
    assert 'href="/courses/l1/01-basics/02-second/"' in html
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "01-first"))
    assert f'src="/courses/assets/{lesson.id}/diagram.svg"' in html
    assert 'class="language-python"' in html and "&lt;script&gt;" in html
    assert 'rel="next"' in html and "copy.js" in html
    second = client.get("/courses/l1/01-basics/02-second/").get_data(as_text=True)
    assert 'href="/courses/l1/01-basics/01-first/#masks"' in second and 'rel="prev"' in second
    zh = client.get("/courses/l1/01-basics/01-first/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "课程" in zh


def test_assets_are_served_only_when_listed_and_cannot_run_script(client, synced) -> None:
    lesson = db.session.scalar(sa.select(Lesson).where(Lesson.slug == "01-first"))
    response = client.get(f"/courses/assets/{lesson.id}/diagram.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    for name in ("lesson.yaml", "..%2Flesson.yaml", "other.svg"):
        assert client.get(f"/courses/assets/{lesson.id}/{name}").status_code == 404
    assert client.get("/courses/assets/99999/diagram.svg").status_code == 404


# --- quizzes ------------------------------------------------------------------------------------------


def test_quiz_page_never_contains_answers(client, learner) -> None:
    post_form(client, "/courses/l1/enroll")
    html = client.get("/courses/l1/01-basics/quiz").get_data(as_text=True)
    assert "Pick one" in html
    assert SECRET not in html and "Because" not in html
    assert "opt-correct" not in html and "tag-ok" not in html and "answer-right" not in html
    assert "tolerance" not in html and 'value="4"' not in html


@pytest.mark.parametrize(
    ("kind", "answer", "given", "expected"),
    [
        ("single", "a", "a", True),
        ("single", "a", "b", False),
        ("single", "a", None, False),
        ("multiple", ["a", "c"], ["a", "c"], True),
        ("multiple", ["a", "c"], ["a"], False),
        ("multiple", ["a", "c"], ["a", "b", "c"], False),
        ("multiple", ["a", "c"], [], False),
        ("numeric", {"value": 4, "tolerance": 0}, "4", True),
        ("numeric", {"value": 4, "tolerance": 0}, " 4.0 ", True),
        ("numeric", {"value": 4, "tolerance": 0}, "\uff14", True),  # a full-width 4, as CJK input methods type it
        ("numeric", {"value": 4096, "tolerance": 0}, "4 096", True),
        ("numeric", {"value": 4, "tolerance": 0}, "5", False),
        ("numeric", {"value": 0.5, "tolerance": 0.01}, "0.509", True),
        ("numeric", {"value": 0.5, "tolerance": 0.01}, "0.52", False),
        ("numeric", {"value": 4, "tolerance": 0}, "four", False),
        ("numeric", {"value": 4, "tolerance": 1e9}, "nan", False),
        ("numeric", {"value": 4, "tolerance": 1e9}, "inf", False),
        ("numeric", {"value": 4, "tolerance": 0}, "", False),
    ],
)
def test_scoring_of_every_question_type(kind, answer, given, expected) -> None:
    question = QuizQuestion(kind=QuestionKind(kind), answer=answer, options=[])
    assert quizzes.is_correct(question, given) is expected


def test_submission_is_graded_recorded_and_explained(client, learner) -> None:
    post_form(client, "/courses/l1/enroll")
    response = _post_quiz(client, {**ALL_RIGHT, "b": ["a"], "e": "0.9"})
    assert response.status_code == 302
    attempt = db.session.scalar(sa.select(QuizAttempt))
    assert attempt.score == pytest.approx(0.6) and not attempt.passed
    page = client.get(response.location).get_data(as_text=True)
    # Not passed, and attempts are unlimited: the explanations stay hidden.
    assert "60%" in page and "Not passed yet" in page and SECRET not in page and "opt-correct" not in page
    # A forged score is ignored: the server grades.
    forged = _post_quiz(client, {**ALL_RIGHT, "a": "b"}, score="1.0")
    assert db.session.get(QuizAttempt, int(forged.location.rsplit("/", 1)[1])).score == pytest.approx(0.8)
    # Passed: now both attempts show the explanations.
    assert SECRET in client.get(forged.location).get_data(as_text=True)
    assert SECRET in client.get(response.location).get_data(as_text=True)


def test_attempts_are_private(app, client, auth, learner) -> None:
    post_form(client, "/courses/l1/enroll")
    location = _post_quiz(client, ALL_RIGHT).location
    auth.logout()
    make_user(email="other@example.com")
    auth.login("other@example.com")
    assert client.get(location).status_code == 404


# --- progress and eligibility -------------------------------------------------------------------------


def test_progress_to_completion_makes_the_exam_available(client, learner) -> None:
    post_form(client, "/courses/l1/enroll")
    course = db.session.scalar(sa.select(Course))
    assert learning.course_progress(learner, course).percent == 0
    client.get("/courses/l1/01-basics/01-first/")
    progress = learning.course_progress(learner, course)
    assert progress.steps_done == 1 and progress.steps_total == 3 and progress.percent == 33
    assert progress.next_lesson.slug == "02-second"
    client.get("/courses/l1/01-basics/02-second/")
    # 3 of 5 (60%) is under the module's 0.8 threshold; 4 of 5 passes.
    _post_quiz(client, {**ALL_RIGHT, "a": "b", "d": "x"})
    assert not learning.course_progress(learner, course).complete
    assert "Not available yet" in client.get("/courses/l1/").get_data(as_text=True)
    _post_quiz(client, {**ALL_RIGHT, "a": "b"})
    progress = learning.course_progress(learner, course)
    assert progress.complete and progress.percent == 100
    assert eligibility.exam_eligibility(learner, course).eligible
    html = client.get("/courses/l1/").get_data(as_text=True)
    assert "exam-available" in html and "Completed" in html
    mine = client.get("/learning").get_data(as_text=True)
    assert "100% complete" in mine and "Continue where you left off" in mine


def test_prerequisite_certificate_gates_the_next_level(app, content_root, monkeypatch) -> None:
    l2 = "courses/l2"
    write(
        content_root,
        f"{l2}/course.yaml",
        (content_root / f"{COURSE}/course.yaml")
        .read_text()
        .replace(uid(1), uid(101))
        .replace("level: L1", "level: L2")
        .replace("exam: l1-exam", "exam: l2-exam")
        .replace("prerequisites: []", "prerequisites: [L1]"),
    )
    for src in (content_root / MODULE).rglob("*"):
        if src.is_file():
            text = src.read_text()
            for n in (2, 11, 12, 20, 21, 22, 23, 24, 25):
                text = text.replace(uid(n), uid(100 + n))
            write(content_root, f"{l2}/01-basics/{src.relative_to(content_root / MODULE)}", text)
    sync_content(content_root)
    user = make_user()
    course = db.session.scalar(sa.select(Course).where(Course.slug == "l2"))
    complete_course(user, course)
    result = eligibility.exam_eligibility(user, course)
    assert result.course_complete and result.missing_prerequisites == ("L1",) and not result.eligible
    monkeypatch.setattr(
        certificates.issuing, "certified_levels", lambda u: {CertLevel.L1} if u.id == user.id else set()
    )
    assert eligibility.exam_eligibility(user, course).eligible


def test_progress_costs_a_constant_number_of_queries(app, synced) -> None:
    user = make_user()
    assert user.id  # loaded now, so only the progress queries are counted
    course = db.session.scalar(sa.select(Course))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        learning.course_progress(user, course)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 3


# --- sanitising ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "![x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "```html\n<script>alert(1)</script>\n```",
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_markdown_cannot_inject_script(markdown: str) -> None:
    """Whatever the Markdown says, the HTML has no script element, event handler or script URL."""

    class Inspector(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.problems: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in {"script", "iframe", "object", "embed", "style"}:
                self.problems.append(f"<{tag}>")
            for name, value in attrs:
                if name.startswith("on"):
                    self.problems.append(f"{tag}[{name}]")
                if name in {"href", "src"} and (value or "").strip().lower().startswith(("javascript:", "data:")):
                    self.problems.append(f"{tag}[{name}={value}]")

    inspector = Inspector()
    inspector.feed(render(markdown))
    inspector.feed(render_inline(markdown))  # titles and summaries
    assert inspector.problems == []


def test_a_student_completes_the_real_l1_course(app, client, auth) -> None:
    """The shipped L1 course, end to end: enrol, read every lesson in both languages, pass every quiz."""
    root = Path(app.config["CONTENT_ROOT"])
    sync_content(root)
    make_user(email="student@example.com")
    auth.login("student@example.com")
    post_form(client, "/courses/l1/enroll")
    course = learning.course_by_slug("l1")
    for module in learning.live_modules(course):
        for i, lesson in enumerate(learning.live_lessons(module)):
            headers = {"Accept-Language": "zh-CN" if i % 2 else "en"}
            page = client.get(f"/courses/l1/{module.slug}/{lesson.slug}/", headers=headers)
            assert page.status_code == 200, lesson.path
        attempt_url = hand_in(client, f"/courses/l1/{module.slug}/quiz", module.quiz).location
        assert "100%" in client.get(attempt_url).get_data(as_text=True), module.slug
    html = client.get("/courses/l1/").get_data(as_text=True)
    assert "exam-available" in html and "100% complete" in html
