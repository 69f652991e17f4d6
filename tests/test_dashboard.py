"""The signed-in home page in every state of the certification path: new, mid-course, graded, under review,
certified and revoked; with the last lesson opened, exam results, certificates and unread messages, in both
languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, ContactMessage, Course, ExamAttempt, Role
from certplatform.models.types import utcnow
from certplatform.services import certificates, dashboard, learning
from tests.conftest import post_form
from tests.factories import make_user

ZH = {"Accept-Language": "zh-CN"}


def _page(client, headers=None) -> str:
    response = client.get("/dashboard", headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _step(html: str) -> str:
    match = re.search(r'id="next-step" data-step="([a-z_]+)"', html)
    assert match, "the next-step card is missing"
    return match.group(1)


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def _failed_attempt(user, exam, score: float = 0.42, days_ago: float = 3) -> ExamAttempt:
    finished = utcnow() - timedelta(days=days_ago)
    attempt = ExamAttempt(
        user_id=user.id,
        exam_id=exam.id,
        status=AttemptStatus.FAILED,
        started_at=finished - timedelta(hours=2),
        deadline_at=finished,
        finished_at=finished,
        score=score,
        content_version=exam.content_version,
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


def test_a_new_user_is_pointed_at_the_first_course(client, auth, exam) -> None:
    user = make_user(email="new@example.com")
    auth.login(user.email)
    html = _page(client)
    assert _step(html) == "enrol" and "Your next step towards L1" in html
    assert 'href="/courses/l1/"' in _section(html, "next-step") and 'class="path-now">Course' in html
    assert "You have not opened a lesson yet." in html
    assert "No exam handed in yet." in html and "No certificate yet" in html and "No unread messages." in html
    zh = _page(client, ZH)
    assert "迈向 L1 的下一步" in zh and "你还没有打开过课程。" in zh and "还没有提交过考试。" in zh


def test_mid_course_continues_at_the_last_lesson_opened(client, auth, exam) -> None:
    user = make_user(email="mid@example.com")
    auth.login(user.email)
    post_form(client, "/courses/l1/enroll")
    client.get("/courses/l1/01-basics/02-second/")
    client.get("/courses/l1/01-basics/01-first/")  # opened last, although it comes first
    html = _page(client)
    resume = _section(html, "continue")
    assert "You stopped at “Lesson 11” in Course." in resume and 'href="/courses/l1/01-basics/01-first/"' in resume
    assert "66% complete" in resume
    step = _section(html, "next-step")
    assert _step(html) == "course" and "Finish the L1 course" in step
    assert 'class="path-now">Course' in step
    assert "你上次停在《课程》的“课 11”。" in _section(_page(client, ZH), "continue")


def test_a_graded_exam_shows_its_result_and_the_way_back_to_the_exam(client, auth, candidate, exam) -> None:
    attempt = _failed_attempt(candidate, exam)
    auth.login(candidate.email)
    html = _page(client)
    results = _section(html, "exam-results")
    assert "42%" in results and "failed" in results
    assert f'href="/exams/{exam.slug}/attempts/{attempt.id}/"' in results
    assert _step(html) == "exam" and "did not pass" in html and f'href="/exams/{exam.slug}/"' in html
    assert 'class="path-done">Course' in html and 'class="path-now">Exam' in html
    assert "未通过" in _section(_page(client, ZH), "exam-results")


def test_a_fresh_failure_says_when_the_exam_opens_again(client, auth, candidate, exam) -> None:
    attempt = _failed_attempt(candidate, exam, days_ago=0)  # handed in just now: the cooldown runs
    auth.login(candidate.email)
    waiting = _section(_page(client), "next-step")
    retake_at = (attempt.finished_at + timedelta(hours=exam.cooldown_hours)).strftime("%Y-%m-%d %H:%M")
    assert "once the waiting time has passed" in waiting and f"Next attempt from {retake_at} UTC." in waiting
    assert f"下次可于 {retake_at} UTC 起参加。" in _section(_page(client, ZH), "next-step")


def test_an_exam_under_review_says_so(client, auth, awaiting, exam) -> None:
    auth.login("candidate@example.com")
    html = _page(client)
    assert _step(html) == "review" and "under mentor review" in html
    assert 'class="path-now">Review' in html
    assert "passed: awaiting mentor review" in _section(html, "exam-results")
    zh = _page(client, ZH)
    assert "导师评审" in _section(zh, "next-step")


def test_a_certified_holder_sees_the_certificate_and_the_path_done(client, auth, cert) -> None:
    auth.login("candidate@example.com")
    html = _page(client)
    certs = _section(html, "certificates")
    assert cert.id in certs and "badge-valid" in certs and f'href="/verify/{cert.id}"' in certs
    # The tiny content has one level only: holding it completes the programme.
    assert _step(html) == "all_held" and "You hold every level" in html
    assert "approved: certificate issued" in _section(html, "exam-results")
    assert "有效" in _section(_page(client, ZH), "certificates")


def test_a_revoked_certificate_no_longer_counts(client, auth, cert, exam) -> None:
    admin = make_user(Role.ADMIN, email="admin@example.com")
    certificates.revocation.revoke(admin, cert, "Plagiarism found after issue")
    auth.login("candidate@example.com")
    html = _page(client)
    assert "badge-revoked" in _section(html, "certificates") and "revoked" in _section(html, "certificates")
    # The level is no longer held: the next step is its exam again (the course stays complete).
    assert _step(html) == "exam" and "Your next step towards L1" in html
    assert "已吊销" in _section(_page(client, ZH), "certificates")


def test_unread_messages_are_counted_until_read(client, auth, cert) -> None:
    sender = make_user(Role.COMPANY_MEMBER, email="hr@example.com")
    candidate = cert.user
    for subject in ("Interview for a kernel role", "Internship"):
        db.session.add(ContactMessage(sender_id=sender.id, recipient_id=candidate.id, subject=subject, body="Hello"))
    db.session.add(ContactMessage(sender_id=candidate.id, recipient_id=sender.id, subject="Sent by me", body="Hi"))
    db.session.commit()
    auth.login(candidate.email)
    box = _section(_page(client), "messages")
    assert "2 unread" in box and "Interview for a kernel role" in box and "Sent by me" not in box
    assert "2 条未读" in _section(_page(client, ZH), "messages")
    for message in db.session.scalars(sa.select(ContactMessage).where(ContactMessage.recipient_id == candidate.id)):
        client.get(f"/messages/{message.id}")
    assert "No unread messages." in _section(_page(client), "messages")


def test_the_dashboard_costs_a_bounded_number_of_queries(app, cert) -> None:
    """One more course or certificate must not add queries per lesson: the page stays cheap as content grows."""
    from sqlalchemy import event

    user = cert.user
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        board = dashboard.for_user(user)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert board.resume is not None and board.certificates
    course = db.session.scalar(sa.select(Course))
    assert len(statements) <= 20 + len(learning.live_modules(course))


@pytest.mark.parametrize("headers", [{}, ZH])
def test_the_dashboard_needs_a_login(client, headers) -> None:
    response = client.get("/dashboard", headers=headers)
    assert response.status_code == 302 and "/auth/login" in response.location
