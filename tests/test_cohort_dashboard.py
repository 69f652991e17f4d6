"""The cohort dashboard: correct figures on a hand-made cohort, filters, the CSV export, and a constant query count."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from unittest.mock import patch

import pytest
import sqlalchemy as sa

from certplatform.cohorts import table
from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Certificate,
    Cohort,
    CohortMember,
    Course,
    ExamAttempt,
    OrganizationKind,
    QuizAttempt,
    Review,
    ReviewState,
    Role,
    User,
)
from certplatform.models.types import utcnow
from certplatform.services import certificates, cohort_dashboard, cohorts, learning
from tests.cohort_data import generate_students
from tests.exam_fixtures import complete_course
from tests.factories import make_org, make_user
from tests.review_fixtures import passed_attempt


@pytest.fixture
def uni(exam):
    admin = make_user(Role.UNIVERSITY_ADMIN, email="registrar@uni.example")
    org = make_org(OrganizationKind.UNIVERSITY, name="Tsinghua Demo", members=(admin,))
    cohort = cohorts.create_cohort(admin, org.id, "Class A", "Spring 2026", ["L1"], date(2026, 3, 1), date(2026, 7, 1))
    return cohort, admin


def enrol(cohort: Cohort, user: User, student_id: str | None = None) -> None:
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=user.id, student_id=student_id))
    db.session.commit()


def attempt(user: User, exam, status: AttemptStatus, started_days_ago: float = 0) -> ExamAttempt:
    started = utcnow() - timedelta(days=started_days_ago)
    row = ExamAttempt(
        user_id=user.id,
        exam_id=exam.id,
        status=status,
        started_at=started,
        deadline_at=started + timedelta(hours=3),
        score=0.3,
        content_version="test",
    )
    db.session.add(row)
    db.session.commit()
    return row


def certificate(exam_attempt: ExamAttempt, cert_id: str) -> Certificate:
    """A certificate issued and signed for the approved attempt, under an ID the assertions can name."""
    with patch("certplatform.certificates.ids.new_certificate_id", return_value=cert_id):
        cert = certificates.issuing.issue(exam_attempt)
    db.session.commit()
    return cert


@pytest.fixture
def small(uni, exam, mentor, keys):
    """Four students at four different stages, and an outsider whose data must not count."""
    cohort, admin = uni
    course = db.session.scalar(sa.select(Course))
    quiz = course.modules[0].quiz

    ada = make_user(email="ada@uni.example", name="Ada Approved")
    complete_course(ada)
    approved = passed_attempt(ada, exam)
    approved.status = AttemptStatus.APPROVED
    certificate(approved, "FLAGOS-L1-TEST-0001")

    bo = make_user(email="bo@uni.example", name="Bo Failing")
    learning.record_view(bo, course.modules[0].lessons[0])
    db.session.add(
        QuizAttempt(
            user_id=bo.id, quiz_id=quiz.id, score=0.6, passed=False, answers={}, results={}, content_version="t"
        )
    )
    attempt(bo, exam, AttemptStatus.FAILED)
    attempt(bo, exam, AttemptStatus.VOID)  # an infrastructure failure: not counted

    cy = make_user(email="cy@uni.example", name="Cy Reviewing")
    attempt(cy, exam, AttemptStatus.FAILED, started_days_ago=3)
    waiting = passed_attempt(cy, exam)
    now = utcnow()
    db.session.add(
        Review(
            attempt_id=waiting.id,
            mentor_id=mentor.id,
            state=ReviewState.CLAIMED,
            claimed_at=now,
            lease_expires_at=now + timedelta(hours=1),
        )
    )

    dee = make_user(email="dee@uni.example", name="=cmd|' /C calc'!A0")
    dee.last_login_at = now - timedelta(days=10)
    db.session.commit()

    outsider = make_user(email="outsider@uni.example")
    complete_course(outsider)
    attempt(outsider, exam, AttemptStatus.FAILED)

    for user, student_id in ((ada, "2026001"), (bo, "-2+3"), (cy, "@SUM(A1)"), (dee, None)):
        enrol(cohort, user, student_id)
    return cohort, admin, {"ada": ada, "bo": bo, "cy": cy, "dee": dee}


def test_figures_on_a_small_cohort(small) -> None:
    cohort, _admin, _people = small
    dashboard = cohort_dashboard.build(cohort)
    rows = {s.email.split("@")[0]: s for s in dashboard.students}
    assert set(rows) == {"ada", "bo", "cy", "dee"}, "the outsider is not part of the cohort"

    ada, bo, cy, dee = rows["ada"], rows["bo"], rows["cy"], rows["dee"]
    assert (ada.progress, ada.quizzes_passed, ada.quiz_mean) == (100, 1, 1.0)
    assert (ada.attempts, ada.latest_status, ada.review, ada.stage) == (
        1,
        AttemptStatus.APPROVED,
        "approved",
        "certified",
    )
    assert [(c.id, c.status) for c in ada.certificates] == [("FLAGOS-L1-TEST-0001", "valid")]

    # One of two lessons read, quiz below its pass mark: 1 of 3 steps.
    assert (bo.progress, bo.quizzes_passed, bo.quiz_mean) == (33, 0, 0.6)
    assert (bo.attempts, bo.latest_status, bo.attempted, bo.passed_exam) == (1, AttemptStatus.FAILED, True, False)
    assert (bo.review, bo.stage, bo.certificates) == ("none", "exam_failed", [])

    assert (cy.progress, cy.quiz_mean, cy.attempts) == (0, None, 2)
    assert (cy.latest_status, cy.review, cy.stage) == (AttemptStatus.AWAITING_REVIEW, "in_review", "exam_passed")

    assert (dee.progress, dee.attempts, dee.stage, dee.student_id) == (0, 0, "not_started", None)

    summary = dashboard.summary
    assert (summary.enrolled, summary.active, summary.started, summary.completed) == (4, 3, 3, 1)
    assert (summary.attempted, summary.passed, summary.certified) == (3, 2, 1)
    assert summary.pass_rate == pytest.approx(2 / 3)


def test_filters_search_and_sorting(small) -> None:
    cohort, _admin, _people = small
    dashboard = cohort_dashboard.build(cohort)

    def names(**kw):
        return [s.email.split("@")[0] for s in table.select(dashboard, **kw)]

    assert names(status="certified") == ["ada"]
    assert names(status="exam_failed") == ["bo"]
    assert names(status="inactive") == ["dee"]
    assert names(query="BO@UNI") == ["bo"]
    assert names(query="2026001") == ["ada"]
    assert names(sort="progress", descending=True)[:2] == ["ada", "bo"]
    assert names(sort="stage") == ["dee", "bo", "cy", "ada"]
    # Students who never took a quiz come last in either direction.
    assert names(sort="quizzes")[:2] == ["bo", "ada"] and names(sort="quizzes", descending=True)[:2] == ["ada", "bo"]
    page = table.paginate(table.select(dashboard), page=9, size=3)
    assert (page.page, page.pages, page.total, len(page.items)) == (2, 2, 4, 1)


def test_dashboard_page_and_chart(client, auth, small) -> None:
    cohort, admin, _people = small
    auth.login(admin.email)
    html = client.get(f"/cohorts/{cohort.id}/").get_data(as_text=True)
    assert "FLAGOS-L1-TEST-0001" in html and "being reviewed" in html and "67%" in html
    assert '<progress class="progress" max="4" value="2" aria-label="Passed the exam">' in html
    inline_scripts = [tag for tag in re.findall(r"<script[^>]*>", html) if "src=" not in tag]
    assert "style=" not in html and not inline_scripts, "the CSP forbids inline styles and scripts"
    filtered = client.get(f"/cohorts/{cohort.id}/?status=certified&sort=progress&dir=desc").get_data(as_text=True)
    assert "ada@uni.example" in filtered and "bo@uni.example" not in filtered


def test_export_is_the_same_data_and_spreadsheet_safe(client, auth, small) -> None:
    cohort, admin, _people = small
    auth.login(admin.email)
    response = client.get(f"/cohorts/{cohort.id}/export.csv?sort=name")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="cohort-{cohort.id}.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    by_email = {r["Email"]: r for r in rows}
    assert list(by_email) == ["dee@uni.example", "ada@uni.example", "bo@uni.example", "cy@uni.example"]
    ada = by_email["ada@uni.example"]
    assert ada["Course progress (%)"] == "100" and ada["Quiz L1/1: Module (%)"] == "100"
    assert ada["Exam attempts"] == "1" and ada["Latest exam status"] == "approved"
    assert ada["Passed the exam"] == "yes" and ada["Certificates"] == "FLAGOS-L1-TEST-0001 (valid)"
    assert ada["Status"] == "certified"
    assert by_email["bo@uni.example"]["Mean best quiz score (%)"] == "60"
    assert by_email["cy@uni.example"]["Review"] == "being reviewed"
    # Formula injection: cells a spreadsheet would evaluate start with a quote instead.
    assert by_email["dee@uni.example"]["Name"] == "'=cmd|' /C calc'!A0"
    assert by_email["bo@uni.example"]["Student ID"] == "'-2+3"
    assert by_email["cy@uni.example"]["Student ID"] == "'@SUM(A1)"
    filtered = client.get(f"/cohorts/{cohort.id}/export.csv?status=certified").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(filtered[1:])))) == 2


@pytest.mark.parametrize("value", ["=cmd", "+1", "-1", "@A1", "\tx", "\rx"])
def test_neutralise_every_formula_start(value: str) -> None:
    assert table.neutralise(value) == "'" + value
    assert table.neutralise("Li Wei") == "Li Wei" and table.neutralise(-3) == -3


# --- cost: a constant number of queries ---------------------------------------------------------------


def count_queries(fn) -> int:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_dashboard_costs_the_same_queries_for_20_and_2000_students(client, auth, uni, exam) -> None:
    cohort, admin = uni
    large = cohorts.create_cohort(
        admin, cohort.organization_id, "Class B", "Spring", ["L1"], cohort.starts_on, cohort.ends_on
    )
    generate_students(cohort, 20, "s")
    generate_students(large, 2000, "l")
    small_id, large_id = cohort.id, large.id

    def build(cohort_id: int):
        row = db.session.get(Cohort, cohort_id)
        assert row.target_levels  # loaded: only the dashboard's own queries are counted
        return lambda: cohort_dashboard.build(row)

    small_cost, large_cost = count_queries(build(small_id)), count_queries(build(large_id))
    assert small_cost == large_cost <= 8
    assert cohort_dashboard.build(db.session.get(Cohort, large_id)).summary.enrolled == 2000

    auth.login(admin.email)
    pages = {}
    for cohort_id in (small_id, large_id):
        pages[cohort_id] = count_queries(lambda cid=cohort_id: client.get(f"/cohorts/{cid}/"))
    assert pages[small_id] == pages[large_id]
    html = client.get(f"/cohorts/{large_id}/?sort=progress&dir=desc&page=3").get_data(as_text=True)
    assert "Page 3 of 20" in html and "2000 students" in html
