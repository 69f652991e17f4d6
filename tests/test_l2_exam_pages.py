"""The L2 exam `l2-cross-chip` on the real content: listed for everyone, refused without an L1 certificate, and
for an L1 holder who finished the L2 course: the task pages in both languages (never the hidden parts), live
grading by the real harness against public and hidden chip profiles, hand-in, and a mentor review with the L2
rubric that issues an L2 certificate."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa

from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    Certificate,
    CertLevel,
    Course,
    ExamAttempt,
    ReviewDecision,
    Role,
    Submission,
    SubmissionStatus,
)
from certplatform.services import attempts, certificates, review
from tests.conftest import post_form
from tests.exam_fixtures import REPO, complete_course
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import full_scores, keys, passed_attempt  # noqa: F401  (keys is a fixture)

pytestmark = pytest.mark.host_candidate

L2 = REPO / "exams" / "l2-cross-chip"
L2_TASKS = ("portable_softmax", "gather_rows", "rms_norm_bf16", "tuned_mm", "migrate_block")
ENTRIES = {"tuned_mm": "mm"}  # tasks whose function is not named after the task


@pytest.fixture
def app_config() -> dict[str, object]:
    # Grading happens inside the request (eager Celery) with the real harness in a local process.
    return {"SANDBOX_BACKEND": "process", "SANDBOX_PYTHON": sys.executable}


@pytest.fixture
def exams(app):
    app.config["CONTENT_ROOT"] = str(REPO)
    sync_content(REPO)
    return attempts.live_exam("l1-operator-dev"), attempts.live_exam("l2-cross-chip")


@pytest.fixture
def l2_course(exams) -> Course:
    return db.session.scalar(sa.select(Course).where(Course.level == CertLevel.L2))


@pytest.fixture
def mentor(exams):
    return make_user(Role.MENTOR, email="mentor@example.com", name="Chen Jing")


@pytest.fixture
def finished_l2_course(l2_course):
    user = make_user(email="candidate@example.com")
    complete_course(user, l2_course)
    return user


@pytest.fixture
def l1_holder(exams, finished_l2_course, mentor, keys):  # noqa: F811
    l1, _ = exams
    attempt = passed_attempt(finished_l2_course, l1)
    review.decide(mentor, review.claim(mentor, attempt), ReviewDecision.APPROVE, full_scores(l1), "Solid L1 work.")
    assert certificates.issuing.certified_levels(finished_l2_course) == {"L1"}
    return finished_l2_course


def _source(task: str, name: str = "solution.py") -> str:
    return (L2 / "tasks" / task / name).read_text(encoding="utf-8")


def test_the_l2_exam_is_listed_and_refused_without_an_l1_certificate(client, auth, finished_l2_course) -> None:
    assert "L2 Cross-Chip Adaptation Practical Exam" in client.get("/exams/").get_data(as_text=True)
    auth.login(finished_l2_course.email)
    html = client.get("/exams/l2-cross-chip/").get_data(as_text=True)
    assert "A valid L1 certificate is required." in html and "Start the exam" not in html
    refused = post_form(client, "/exams/l2-cross-chip/start", follow_redirects=True)
    assert "A valid L1 certificate is required." in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ExamAttempt.id))) == 0


def test_an_l1_holder_without_the_l2_course_is_refused(client, auth, exams, mentor, keys) -> None:  # noqa: F811
    l1, _ = exams
    user = make_user(email="l1only@example.com")
    attempt = passed_attempt(user, l1)
    review.decide(mentor, review.claim(mentor, attempt), ReviewDecision.APPROVE, full_scores(l1), "Good.")
    auth.login(user.email)
    html = client.get("/exams/l2-cross-chip/").get_data(as_text=True)
    assert "Complete the course first" in html and "Start the exam" not in html


def test_an_l1_holder_takes_the_l2_exam_and_a_mentor_approves_it(client, auth, app, l1_holder, mentor) -> None:
    auth.login(l1_holder.email)
    page = client.get("/exams/l2-cross-chip/").get_data(as_text=True)
    assert "Start the exam" in page and "chipprofile" in page
    response = post_form(client, "/exams/l2-cross-chip/start")
    assert response.status_code == 302, response.get_data(as_text=True)
    attempt_url = response.location

    for task in L2_TASKS:
        en = client.get(f"{attempt_url}{task}/").get_data(as_text=True)
        zh = client.get(f"{attempt_url}{task}/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        entry = ENTRIES.get(task, task)
        assert "The launch rules" in en and f"def {entry}(" in en and "profile: ChipProfile" in en
        assert "启动规则" in zh and f"def {entry}(" in zh
        # The generated range tables' marker lines are link reference definitions, which no page shows.
        assert "[//]" not in en + zh and "chip-profiles table" not in en + zh
        starter = {line.strip() for line in _source(task, "starter.py").splitlines()}
        solution_only = [
            line.strip()
            for line in _source(task).splitlines()
            if len(line.strip()) > 25 and not any(line.strip() in known for known in starter)
        ]
        assert solution_only
        for secret in (*solution_only, "def cases(", "def footprint(", "HIDDEN_RANGES", "PER_PROFILE"):
            assert secret not in en and secret not in zh, secret

    for task in L2_TASKS:
        assert post_form(client, f"{attempt_url}{task}/", {"code": _source(task)}).status_code == 302
    attempt = db.session.scalar(
        sa.select(ExamAttempt).where(ExamAttempt.user_id == l1_holder.id).order_by(ExamAttempt.id.desc())
    )
    assert attempt.exam.slug == "l2-cross-chip"
    mine = sa.select(Submission).where(Submission.attempt_id == attempt.id)
    graded = db.session.scalars(mine.order_by(Submission.id)).all()
    assert [s.status for s in graded] == [SubmissionStatus.PASSED] * len(L2_TASKS), [s.message for s in graded]
    for submission in graded:
        names = [t["name"] for t in submission.tests]
        assert submission.score == 1.0 and any(n.startswith("hidden ") for n in names) and "mlu-like" in str(names)
        status = client.get(f"{attempt_url}submissions/{submission.id}").get_json()
        assert status["status"] == "passed" and "chip-" not in str(status["tests"]), "hidden names stay hidden"

    wrong = post_form(
        client, f"{attempt_url}portable_softmax/", {"code": _source("portable_softmax", "wrong/fixed_tile.py")}
    )
    assert wrong.status_code == 302
    last = db.session.scalars(mine.order_by(Submission.id.desc())).first()
    assert last.status is SubmissionStatus.FAILED and "> on-chip" in str(last.tests)

    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    db.session.refresh(attempt)
    assert attempt.status is AttemptStatus.AWAITING_REVIEW and attempt.score == 1.0

    lease = review.claim(mentor, attempt)
    mentor_client = app.test_client()
    assert post_form(mentor_client, "/auth/login", {"email": mentor.email, "password": PASSWORD}).status_code == 302
    for language, words in (
        ("en", ("Capability-driven choices", "What would change on real hardware")),
        ("zh-CN", ("由能力驱动的选择", "真实硬件上的变化")),
    ):
        mentor_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        html = mentor_client.get(f"/review/{lease.id}/").get_data(as_text=True)
        assert all(w in html for w in words), language
        assert "portable_softmax" in html and "rms_norm_bits_kernel" in html
    review.decide(mentor, lease, ReviewDecision.APPROVE, full_scores(attempt.exam), "Capability-driven throughout.")
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.level == CertLevel.L2))
    assert cert is not None and cert.attempt_id == attempt.id and certificates.status.assess(cert).intact
    assert certificates.issuing.certified_levels(l1_holder) == {"L1", "L2"}


REVIEW_WORDS = {
    "en": {"changes": "changes requested", "approved": "approved", "revoked": "Revoked"},
    "zh-CN": {"changes": "要求修改", "approved": "已批准", "revoked": "已吊销"},
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_l2_pages_after_changes_requested_a_revision_an_approval_and_a_revocation(app, l1_holder, mentor, language):
    """The candidate's, the mentors' and the admin's pages of an L2 attempt open in every state of its review, and the
    certificate page says "revoked" once it is."""
    from datetime import timedelta

    from certplatform.models.types import utcnow

    l2 = attempts.live_exam("l2-cross-chip")
    now = utcnow()
    attempt = ExamAttempt(
        user_id=l1_holder.id,
        exam_id=l2.id,
        status=AttemptStatus.AWAITING_REVIEW,
        started_at=now - timedelta(hours=2),
        deadline_at=now + timedelta(hours=1),
        finished_at=now - timedelta(hours=1),
        score=1.0,
        content_version=l2.content_version,
    )
    db.session.add(attempt)
    db.session.flush()
    for task in attempts.live_tasks(l2):
        db.session.add(
            Submission(
                attempt_id=attempt.id,
                task_id=task.id,
                status=SubmissionStatus.PASSED,
                score=1.0,
                code=_source(task.slug),
                code_sha256="0" * 64,
                tests=[{"name": "gpgpu-32 fp32 (4, 1000)", "passed": True, "score": 1.0, "message": "ok"}],
            )
        )
    db.session.commit()
    words = REVIEW_WORDS[language]
    admin = make_user(Role.ADMIN, email="admin@example.com")
    second = make_user(Role.MENTOR, email="second@example.com")
    clients = {}

    def as_user(user):  # one login each: logins are rate limited
        if user.email not in clients:
            clients[user.email] = app.test_client()
            clients[user.email].environ_base["HTTP_ACCEPT_LANGUAGE"] = language
            login = post_form(clients[user.email], "/auth/login", {"email": user.email, "password": PASSWORD})
            assert login.status_code == 302
        return clients[user.email]

    def pages(leases):
        shown = [(l1_holder, f"/exams/l2-cross-chip/attempts/{attempt.id}/")]
        shown += [(who, f"/review/{lease.id}/") for who, lease in leases]
        shown.append((admin, f"/review/attempts/{attempt.id}/manage"))
        for user, path in shown:
            response = as_user(user).get(path)
            assert response.status_code == 200, path
            yield path, response.get_data(as_text=True)

    first = review.claim(mentor, attempt)
    review.decide(
        mentor,
        first,
        ReviewDecision.REQUEST_CHANGES,
        full_scores(l2),
        "Explain the looped path on mlu-like.",
        [{"task": "portable_softmax", "line": 3, "text": "why this tile?"}],
    )
    for path, html in pages([(mentor, first)]):
        assert words["changes"] in html and "Explain the looped path on mlu-like." in html, path
    attempts.finish(attempt, actor=l1_holder)  # the revision handed in
    lease = review.claim(second, attempt)
    html = as_user(second).get(f"/review/{lease.id}/").get_data(as_text=True)
    assert words["changes"] in html and "why this tile?" in html and "rms_norm_bits_kernel" in html
    review.decide(second, lease, ReviewDecision.APPROVE, full_scores(l2), "")
    for path, html in pages([(mentor, first), (second, lease)]):
        assert words["approved"] in html and words["changes"] in html, path

    cert = db.session.scalar(sa.select(Certificate).where(Certificate.level == CertLevel.L2))
    certificates.revocation.revoke(admin, cert, "Shared solution found")
    verify = as_user(l1_holder).get(f"/verify/{cert.id}").get_data(as_text=True)
    assert words["revoked"] in verify and "Shared solution found" in verify
    assert list(pages([(mentor, first), (second, lease)])), "every page still opens once the certificate is revoked"
