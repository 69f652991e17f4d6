"""The L3 exam in the browser's terms, in both languages: only an L2 holder who finished the L3 course may start
it; the plan is graded by the real harness and the design document by its checks; handing in moves it to review;
two independent mentor approvals issue the L3 certificate, which verifies."""

from __future__ import annotations

import io
import sys

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, Certificate, CertLevel, ExamAttempt, Role, Submission, SubmissionStatus
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_user
from tests.l3_fixtures import L3_TASK_DIR, l3_candidate, sync_l3, task_source, write_l3_root
from tests.review_fixtures import full_scores

pytestmark = pytest.mark.host_candidate

HOSTILE = "\n<script>alert('x')</script>\n\n[a link](javascript:alert(1))\n"
TEXT = {
    "en": {"start": "Start the exam", "doc": "Your document (Markdown)", "md": "Markdown file (.md)", "prereq": "L2"},
    "zh-CN": {"start": "开始考试", "doc": "你的文档（Markdown）", "md": "Markdown 文件（.md）", "prereq": "L2"},
}


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"SANDBOX_BACKEND": "process", "SANDBOX_PYTHON": sys.executable}


@pytest.fixture
def l3(app, tmp_path, keys):
    root = write_l3_root(tmp_path / "content")
    app.config["CONTENT_ROOT"] = str(root)
    return sync_l3(root)


def _client(app, email: str, language: str):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    assert post_form(client, "/auth/login", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_without_an_l2_certificate_the_l3_exam_does_not_start(app, l3) -> None:
    from certplatform.models import Course
    from tests.exam_fixtures import complete_course

    user = make_user(email="no-l2@example.com")
    complete_course(user, db.session.scalar(sa.select(Course).where(Course.exam_slug == "l3-architect")))
    client = _client(app, user.email, "en")
    html = client.get("/exams/l3-architect/").get_data(as_text=True)
    assert "Start the exam" not in html and "L2" in html
    post_form(client, "/exams/l3-architect/start")
    assert db.session.scalar(sa.select(sa.func.count(ExamAttempt.id)).where(ExamAttempt.exam_id == l3[1].id)) == 0


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_an_l2_holder_takes_l3_and_two_mentors_certify(app, l3, language) -> None:
    l2_exam, l3_exam = l3
    assert l3_exam.approvals_required == 2
    words = TEXT[language]
    l2_mentor = make_user(Role.MENTOR, email="l2mentor@example.com", name="Zhao Min")
    candidate = l3_candidate(make_user(email="architect@example.com", name="Li Wei"), l2_exam, l2_mentor)
    client = _client(app, candidate.email, language)

    assert words["start"] in client.get("/exams/l3-architect/").get_data(as_text=True)
    started = post_form(client, "/exams/l3-architect/start")
    assert started.status_code == 302, started.get_data(as_text=True)
    attempt_url = started.location

    # The planning task: prompt and starter shown, the simulator never.
    page = client.get(attempt_url + "plan_training/").get_data(as_text=True)
    assert "def plan_training" in page and "hetero_pipeline_layer_split" in page
    hidden = (L3_TASK_DIR / "plan_training" / "tests" / "costmodel.py").read_text()
    assert "COST_MODEL_VERSION" in hidden and "COST_MODEL_VERSION" not in page
    assert "stage_coefficients" not in page and "reference_plan" not in page
    post_form(client, attempt_url + "plan_training/", {"code": task_source("plan_training", "solution.py")})
    post_form(client, attempt_url + "plan_inference/", {"code": task_source("plan_inference", "solution.py")})
    replan = task_source("replan_after_failure", "solution.py")
    post_form(client, attempt_url + "replan_after_failure/", {"code": replan})

    # The design document: its own editor label and upload rule, written in the editor and uploaded.
    doc_page = client.get(attempt_url + "design_doc/").get_data(as_text=True)
    assert words["doc"] in doc_page and "## Trade-offs" in doc_page  # the starter template
    token = csrf_token(client)
    wrong_type = client.post(
        attempt_url + "design_doc/",
        data={"csrf_token": token, "code": "", "upload": (io.BytesIO(b"x = 1\n"), "design.py")},
        content_type="multipart/form-data",
    )
    assert wrong_type.status_code == 422 and words["md"] in wrong_type.get_data(as_text=True)
    document = task_source("design_doc", "solution.md").replace("## Cost", HOSTILE + "\n## Cost")
    uploaded = client.post(
        attempt_url + "design_doc/",
        data={"csrf_token": token, "code": "", "upload": (io.BytesIO(document.encode()), "design.md")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    graded = db.session.scalars(sa.select(Submission).order_by(Submission.id)).all()
    graded = [s for s in graded if s.attempt.exam_id == l3_exam.id]
    assert [(s.status, s.score) for s in graded] == [(SubmissionStatus.PASSED, 1.0)] * 4, [s.message for s in graded]

    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    attempt = db.session.scalar(sa.select(ExamAttempt).where(ExamAttempt.exam_id == l3_exam.id))
    assert attempt.status is AttemptStatus.AWAITING_REVIEW and attempt.score == pytest.approx(1.0)

    # Two mentors, each in the candidate's language: the document is rendered, sanitised.
    certificates = []
    for n, name in enumerate(("Chen Jing", "Wang Lei")):
        mentor = make_user(Role.MENTOR, email=f"mentor{n}@example.com", name=name)
        mc = _client(app, mentor.email, language)
        claimed = post_form(mc, f"/review/attempts/{attempt.id}/claim")
        assert claimed.status_code == 302, claimed.get_data(as_text=True)
        detail = mc.get(claimed.location).get_data(as_text=True)
        assert "<h2>Trade-offs</h2>" in detail and "<table>" in detail
        assert "<script>alert" not in detail, detail[
            detail.find("<script>alert") - 300 : detail.find("<script>alert") + 100
        ]
        assert 'href="javascript' not in detail
        assert 'class="codeview"' in detail and "reference_plan" in detail  # the code, highlighted
        form = {f"score-{k}": v for k, v in full_scores(l3_exam).items()}
        form.update(decision="approve", comment=f"Approved by {name}.", line_comments="")
        decided = post_form(mc, claimed.location, form)
        assert decided.status_code == 302, decided.get_data(as_text=True)
        db.session.refresh(attempt)
        certificates = db.session.scalars(sa.select(Certificate).where(Certificate.level == CertLevel.L3)).all()
        if n == 0:
            assert attempt.status is AttemptStatus.AWAITING_REVIEW and certificates == []
    assert attempt.status is AttemptStatus.APPROVED and len(certificates) == 1
    cert = certificates[0]
    assert cert.user_id == candidate.id
    api = client.get(f"/api/v1/certificates/{cert.id}").get_json()
    assert api["status"] == "valid" and api["level"] == "L3" and api["holder_name"] == "Li Wei"
    assert client.get(f"/verify/{cert.id}").status_code == 200


REVIEW_WORDS = {
    "en": {"changes": "changes requested", "approved": "approved", "revoked": "Revoked"},
    "zh-CN": {"changes": "要求修改", "approved": "已批准", "revoked": "已吊销"},
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_changes_requested_a_revised_document_two_approvals_and_a_revocation(app, l3, language) -> None:
    """Every page of an L3 attempt opens after each decision: changes requested on the design document, the revision
    handed in and reviewed by two other mentors, and the certificate revoked afterwards."""
    from certplatform.models import ReviewDecision
    from certplatform.services import certificates, review

    l2_exam, l3_exam = l3
    words = REVIEW_WORDS[language]
    candidate = l3_candidate(make_user(email="architect@example.com", name="Li Wei"), l2_exam, make_user(Role.MENTOR))
    admin = make_user(Role.ADMIN, email="admin@example.com")
    client = _client(app, candidate.email, language)
    attempt_url = post_form(client, "/exams/l3-architect/start").location
    for task in ("plan_training", "plan_inference", "replan_after_failure"):
        post_form(client, attempt_url + f"{task}/", {"code": task_source(task, "solution.py")})
    first_doc = task_source("design_doc", "solution.md")
    post_form(client, attempt_url + "design_doc/", {"code": first_doc})
    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    attempt = db.session.scalar(sa.select(ExamAttempt).where(ExamAttempt.exam_id == l3_exam.id))
    assert attempt.status is AttemptStatus.AWAITING_REVIEW

    signed_in = {candidate.email: client}

    def as_user(user):  # one login each: logins are rate limited
        if user.email not in signed_in:
            signed_in[user.email] = _client(app, user.email, language)
        return signed_in[user.email]

    def pages(leases):
        shown = [(candidate, attempt_url)] + [(mentor, f"/review/{claimed.id}/") for mentor, claimed in leases]
        shown.append((admin, f"/review/attempts/{attempt.id}/manage"))
        for user, path in shown:
            response = as_user(user).get(path)
            assert response.status_code == 200, path
            yield path, response.get_data(as_text=True)

    first = make_user(Role.MENTOR, email="first@example.com")
    lease = review.claim(first, attempt)
    review.decide(
        first,
        lease,
        ReviewDecision.REQUEST_CHANGES,
        full_scores(l3_exam),
        "Argue the failure policy.",
        [{"task": "design_doc", "line": 3, "text": "say why only at pipeline boundaries"}],
    )
    for path, html in pages([(first, lease)]):
        assert words["changes"] in html and "Argue the failure policy." in html, path

    revised = first_doc.replace("## Cost", "## Cost\n\nCheckpoints every 500 iterations bound a lost node's cost.\n", 1)
    assert post_form(client, attempt_url + "design_doc/", {"code": revised}).status_code == 302
    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    db.session.refresh(attempt)
    assert attempt.status is AttemptStatus.AWAITING_REVIEW
    leases = [(first, lease)]
    for n in range(2):
        mentor = make_user(Role.MENTOR, email=f"second{n}@example.com")
        claimed = review.claim(mentor, attempt)
        detail = as_user(mentor).get(f"/review/{claimed.id}/").get_data(as_text=True)
        assert "Checkpoints every 500 iterations" in detail and "<h2>Trade-offs</h2>" in detail
        assert words["changes"] in detail and "say why only at pipeline boundaries" in detail
        review.decide(mentor, claimed, ReviewDecision.APPROVE, full_scores(l3_exam), "")
        leases.append((mentor, claimed))
    db.session.refresh(attempt)
    assert attempt.status is AttemptStatus.APPROVED
    for path, html in pages(leases):
        assert words["approved"] in html and words["changes"] in html, path

    cert = db.session.scalar(sa.select(Certificate).where(Certificate.level == CertLevel.L3))
    certificates.revocation.revoke(admin, cert, "Plan copied from another candidate")
    verify = client.get(f"/verify/{cert.id}").get_data(as_text=True)
    assert words["revoked"] in verify and "Plan copied from another candidate" in verify
    assert client.get(f"/api/v1/certificates/{cert.id}").get_json()["status"] == "revoked"
    for path, _html in pages(leases):
        assert path  # every page still opens once the certificate is revoked


@pytest.mark.parametrize(
    ("language", "says"),
    [
        ("en", ("the routing shares sum to 1.1, not 1", "infeasible: the plan breaks", "tests passed")),
        ("zh-CN", ("routing 各份额之和为 1.1，不等于 1", "不可行：计划违反了", "个测试中通过")),
    ],
)
def test_the_cluster_plan_verdict_is_worded_in_the_readers_language(app, l3, language, says) -> None:
    l2_exam, _ = l3
    candidate = l3_candidate(make_user(email="planner@example.com"), l2_exam, make_user(Role.MENTOR))
    client = _client(app, candidate.email, language)
    attempt_url = post_form(client, "/exams/l3-architect/start").location
    wrong = (L3_TASK_DIR / "plan_inference" / "wrong" / "routing_not_summing.py").read_text()
    post_form(client, attempt_url + "plan_inference/", {"code": task_source("plan_inference", "solution.py") + wrong})
    submission = db.session.scalar(sa.select(Submission).order_by(Submission.id.desc()))
    assert submission.status is SubmissionStatus.FAILED and submission.score == 0.0
    status = client.get(f"{attempt_url}submissions/{submission.id}").get_json()
    messages = " | ".join([status["message"], *(t["message"] for t in status["tests"])])
    assert all(s in messages for s in says), messages
    if language != "en":
        assert "the routing shares sum" not in messages and "infeasible" not in messages
