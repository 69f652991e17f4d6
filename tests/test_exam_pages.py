"""The exam in the browser's terms: start, the task page, submitting, grading (real harness), live status."""

from __future__ import annotations

import io
import sys

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AttemptStatus, ExamAttempt, Submission, SubmissionStatus
from certplatform.services import attempts
from tests.conftest import csrf_token, post_form
from tests.exam_fixtures import REAL_EXAM, source
from tests.factories import make_user

pytestmark = pytest.mark.host_candidate


@pytest.fixture
def app_config() -> dict[str, object]:
    # Grading happens inside the request (eager Celery) with the real harness in a local process.
    return {"SANDBOX_BACKEND": "process", "SANDBOX_PYTHON": sys.executable}


@pytest.fixture
def signed_in(client, auth, candidate):
    auth.login(candidate.email)
    return candidate


def _start(client) -> str:
    response = post_form(client, "/exams/l1-exam/start")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.location


def test_exam_list_is_public_and_exam_pages_need_login(client, exam) -> None:
    assert "L1" in client.get("/exams/").get_data(as_text=True)
    assert client.get("/exams/l1-exam/").status_code == 302


def test_not_eligible_candidates_see_why(client, auth, exam) -> None:
    make_user(email="new@example.com")
    auth.login("new@example.com")
    html = client.get("/exams/l1-exam/").get_data(as_text=True)
    assert "Complete the course first" in html and "Start the exam" not in html
    refused = post_form(client, "/exams/l1-exam/start", follow_redirects=True)
    assert "Complete the course first" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ExamAttempt.id))) == 0


def test_task_page_shows_prompt_and_starter_but_never_the_hidden_parts(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    page = client.get(attempt_url + "softmax/").get_data(as_text=True)
    assert "What is tested" in page and "def softmax" in page
    hidden = (REAL_EXAM / "tasks/softmax/tests/cases.py").read_text()
    starter_lines = {line.strip() for line in source("softmax", "starter.py").splitlines()}
    solution_only = [
        line.strip()
        for line in source("softmax").splitlines()
        if len(line.strip()) > 20 and line.strip() not in starter_lines
    ]
    assert solution_only
    for secret in (*solution_only, "def cases(", hidden.splitlines()[-3].strip()):
        assert secret not in page, secret
    zh = client.get(attempt_url + "softmax/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "测试" in zh


def test_a_reference_solution_is_graded_passed_and_shown_live(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    response = post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    assert response.status_code == 302
    submission = db.session.scalar(sa.select(Submission))
    assert submission.status is SubmissionStatus.PASSED and submission.score == 1.0, submission.message
    assert "not isolated" in submission.message and submission.backend == "process"
    status = client.get(f"{attempt_url}submissions/{submission.id}").get_json()
    assert status["status"] == "passed" and status["final"] and len(status["tests"]) >= 5
    assert set(status) == {
        "id",
        "status",
        "final",
        "score",
        "message",
        "tests",
        "stdout",
        "stderr",
        "duration_s",
        "created_at",
        "queue",
    }
    page = client.get(attempt_url + "vector_add/").get_data(as_text=True)
    assert "passed" in page and "100%" in page


def test_a_starter_fails_and_torch_computation_is_rejected(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    post_form(client, attempt_url + "gelu/", {"code": source("gelu", "starter.py")})
    cheat = "import torch\n\ndef gelu(x):\n    return torch.nn.functional.gelu(x, approximate='tanh')\n"
    post_form(client, attempt_url + "gelu/", {"code": cheat})
    starter, cheating = db.session.scalars(sa.select(Submission).order_by(Submission.id)).all()
    assert starter.status is SubmissionStatus.FAILED and starter.score < 0.5
    assert cheating.status is SubmissionStatus.REJECTED and cheating.score == 0.0
    assert cheating.message


def test_grader_messages_are_shown_in_the_readers_language(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    cheat = "import torch\n\ndef gelu(x):\n    return torch.nn.functional.gelu(x, approximate='tanh')\n"
    post_form(client, attempt_url + "gelu/", {"code": cheat})
    post_form(client, attempt_url + "gelu/", {"code": source("gelu", "starter.py")})
    cheating, starter = db.session.scalars(sa.select(Submission).order_by(Submission.id)).all()
    assert cheating.status is SubmissionStatus.REJECTED
    english = client.get(attempt_url + "gelu/").get_data(as_text=True)
    assert "torch.nn is not allowed outside a kernel (rule:" in english
    post_form(client, "/language", {"locale": "zh_CN"})
    chinese = client.get(attempt_url + "gelu/").get_data(as_text=True)
    assert "提交违反了考试规则" in chinese and "内核之外不允许使用 torch.nn（规则：" in chinese
    assert "torch.nn is not allowed" not in chinese
    status = client.get(f"{attempt_url}submissions/{cheating.id}").get_json()
    assert "内核之外不允许使用 torch.nn" in status["message"] and "not isolated" in status["message"]
    tests = client.get(f"{attempt_url}submissions/{starter.id}").get_json()["tests"]
    assert tests and all(t["passed"] or "个元素中有" in t["message"] or "没有运行" in t["message"] for t in tests)


def test_upload_and_its_limits(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    token = csrf_token(client)
    ok = client.post(
        attempt_url + "vector_add/",
        data={"csrf_token": token, "code": "", "upload": (io.BytesIO(source("vector_add").encode()), "add.py")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302
    too_big = client.post(
        attempt_url + "vector_add/",
        data={"csrf_token": token, "code": "", "upload": (io.BytesIO(b"#" * (65 * 1024)), "big.py")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 422 and "larger than 64 KB" in too_big.get_data(as_text=True)
    wrong = client.post(
        attempt_url + "vector_add/",
        data={"csrf_token": token, "code": "", "upload": (io.BytesIO(b"x"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "Python file" in wrong.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 1


def test_other_candidates_cannot_see_an_attempt(client, auth, signed_in, exam) -> None:
    attempt_url = _start(client)
    post_form(client, attempt_url + "vector_add/", {"code": "print('hello')\n"})
    submission = db.session.scalar(sa.select(Submission))
    auth.logout()
    make_user(email="other@example.com")
    auth.login("other@example.com")
    for url in (attempt_url, attempt_url + "vector_add/", f"{attempt_url}submissions/{submission.id}"):
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_without_javascript_the_server_asks_the_hand_in_question(client, signed_in, exam, locale) -> None:
    attempt_url = _start(client)
    post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    headers = {"Accept-Language": locale}
    page = post_form(client, attempt_url + "finish", headers=headers)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ('value="yes"' in html) and "gelu" in html and "vector_add" not in html
    assert ("交卷后不能再提交任何内容" if locale != "en" else "You cannot submit anything afterwards.") in html
    attempt = db.session.scalar(sa.select(ExamAttempt))
    assert attempt.status is AttemptStatus.IN_PROGRESS, "asking is not handing in"
    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    assert db.session.scalar(sa.select(ExamAttempt)).status is AttemptStatus.FAILED
    again = post_form(client, attempt_url + "finish", {"confirmed": ""})
    assert again.status_code == 302, "a closed attempt is not asked about again"


def test_handing_in_scores_the_attempt(client, signed_in, exam) -> None:
    attempt_url = _start(client)
    post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    attempt = db.session.scalar(sa.select(ExamAttempt))
    assert attempt.status is AttemptStatus.FAILED  # one task of five is below the 70% pass mark
    html = client.get(attempt_url).get_data(as_text=True)
    assert "Below the pass mark" in html
    closed = post_form(client, attempt_url + "gelu/", {"code": source("gelu")})
    assert closed.status_code == 422 and "The attempt is closed" in closed.get_data(as_text=True)
    assert attempts.live_exam("l1-exam") is not None


def test_an_attempt_whose_time_ran_out_is_handed_in_as_it_stands(client, signed_in, exam) -> None:
    from datetime import timedelta

    from certplatform.models import AuditEvent

    attempt_url = _start(client)
    post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    attempt = db.session.scalar(sa.select(ExamAttempt))
    attempt.deadline_at = attempt.started_at + timedelta(seconds=1)
    db.session.commit()
    # No sweeper has run: opening any page of the attempt hands it in, with the submission it holds.
    html = client.get(attempt_url + "gelu/").get_data(as_text=True)
    assert "The attempt is closed" in html and "code-editor" not in html
    db.session.refresh(attempt)
    assert attempt.status is AttemptStatus.FAILED and attempt.task_scores["vector_add"] == 1.0
    late = post_form(client, attempt_url + "gelu/", {"code": source("gelu")})
    assert late.status_code == 422 and "The attempt is closed" in late.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 1
    reasons = [e.details.get("reason") for e in db.session.scalars(sa.select(AuditEvent)) if e.action == "exam.finish"]
    assert reasons == ["deadline"]


def test_the_task_page_carries_the_editor_draft_key_and_the_hand_in_question_names_open_tasks(
    client, signed_in, exam
) -> None:
    attempt_url = _start(client)
    attempt = db.session.scalar(sa.select(ExamAttempt))
    page = client.get(attempt_url + "vector_add/").get_data(as_text=True)
    assert f'data-draft-key="certplatform:draft:{attempt.id}:vector_add"' in page and 'data-draft-base=""' in page
    assert "editor/editor.js" in page and "<noscript>" in page  # the language button for browsers without JS
    post_form(client, attempt_url + "vector_add/", {"code": source("vector_add")})
    submission = db.session.scalar(sa.select(Submission))
    assert f'data-draft-base="{submission.id}"' in client.get(attempt_url + "vector_add/").get_data(as_text=True)
    html = client.get(attempt_url).get_data(as_text=True)
    question = html.split('class="hand-in" data-confirm="')[1].split('"')[0]
    assert question.startswith("Hand in now?") and "No submission yet for: gelu" in question
    assert "vector_add" not in question and "matmul" in question
    post_form(client, attempt_url + "finish", {"confirmed": "yes"})
    closed = client.get(attempt_url + "vector_add/").get_data(as_text=True)
    assert 'id="submitted-code"' in closed and "editor/editor.js" not in closed
