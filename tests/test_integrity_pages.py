"""The mentor's review page with every submission and the similarity report, in every state and both languages;
the decision form without a default; the admin's `certplatform integrity report`."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import Certificate, ReviewDecision, Role, SubmissionStatus
from certplatform.services import attempts, certificates, review, review_input
from tests.conftest import post_form
from tests.factories import make_user
from tests.integrity_fixtures import INDEPENDENT_SOFTMAX, renamed, solution, submit
from tests.review_fixtures import full_scores, passed_attempt
from tests.test_review_pages import browser  # noqa: F401 - the signed-in clients fixture

TEXT = {
    "en": {"report": "Similarity to other candidates", "attempt": "attempt #{}", "rejected": "rejected"},
    "zh-CN": {"report": "与其他考生的相似度", "attempt": "考试 #{}", "rejected": "已拒绝"},
}


@pytest.fixture
def copier(exam, awaiting):
    """Another candidate whose softmax is the reviewed candidate's with renamed variables."""
    other = passed_attempt(make_user(email="zhang.min@example.com", name="Zhang Min"), exam)
    submit(other, "softmax", renamed(solution("softmax")))
    submit(
        awaiting,
        "softmax",
        "import torch\n\ndef softmax(x):\n    return torch.softmax(x, -1)\n",
        SubmissionStatus.REJECTED,
    )
    return other


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, email="admin@example.com")


def _check_mentor_page(html: str, language: str, copier) -> None:
    text = TEXT[language]
    assert text["report"] in html and text["attempt"].format(copier.id) in html
    assert "<mark>" in html and 'class="compare"' in html, "the matching regions, side by side"
    assert "Zhang Min" not in html and "zhang.min@example.com" not in html, "a mentor never learns who the other is"
    assert "torch computed the answer" in html and "torch</span>" in html, "the rejected submission, code and all"


@pytest.mark.parametrize("language", list(TEXT))
def test_the_report_in_every_state_of_the_review(
    browser,  # noqa: F811
    exam,
    awaiting,
    copier,
    mentor,
    second_mentor,
    admin,
    keys,
    language,
) -> None:
    first = review.claim(mentor, awaiting)
    page = f"/review/{first.id}/"
    html = browser(mentor, language).get(page).get_data(as_text=True)
    _check_mentor_page(html, language, copier)
    assert 'name="decision"' in html and "checked" not in html.split('name="decision"')[1][:40], "no default decision"
    assert 'data-line-comments="softmax"' in html and "js/review.js" in html

    review.decide(mentor, first, ReviewDecision.REQUEST_CHANGES, full_scores(exam), "Explain the copy.")
    _check_mentor_page(browser(mentor, language).get(page).get_data(as_text=True), language, copier)

    # The candidate resubmits; a second mentor sees the new submission compared as well.
    awaiting.status = awaiting.status.IN_PROGRESS
    submit(awaiting, "softmax", INDEPENDENT_SOFTMAX)
    attempts.finish(awaiting, actor=awaiting.user)
    second = review.claim(second_mentor, awaiting)
    html = browser(second_mentor, language).get(f"/review/{second.id}/").get_data(as_text=True)
    _check_mentor_page(html, language, copier)
    review.decide(second_mentor, second, ReviewDecision.APPROVE, full_scores(exam), "")
    _check_mentor_page(
        browser(second_mentor, language).get(f"/review/{second.id}/").get_data(as_text=True), language, copier
    )

    certificates.revocation.revoke(admin, db.session.scalar(sa.select(Certificate)), "Copied from another candidate")
    _check_mentor_page(
        browser(second_mentor, language).get(f"/review/{second.id}/").get_data(as_text=True), language, copier
    )
    # The administrator sees who the other candidate is.
    manage = browser(admin, language).get(f"/review/attempts/{awaiting.id}/manage").get_data(as_text=True)
    assert TEXT[language]["report"] in manage and "Zhang Min" in manage and "zhang.min@example.com" in manage


def test_an_independent_attempt_is_not_flagged(browser, exam, awaiting, mentor) -> None:  # noqa: F811
    other = passed_attempt(make_user(), exam)
    for s in other.submissions:
        s.code, s.code_sha256 = INDEPENDENT_SOFTMAX, "1" * 64
    db.session.commit()
    for s in awaiting.submissions:
        if s.task.slug != "softmax":
            db.session.delete(s)
    db.session.commit()
    html = browser(mentor, "en").get(f"/review/{review.claim(mentor, awaiting).id}/").get_data(as_text=True)
    assert "No submission shares 75% or more" in html and "<mark>" not in html


def test_a_decision_needs_a_choice_and_keeps_what_was_typed(browser, exam, awaiting, mentor, keys) -> None:  # noqa: F811
    lease = review.claim(mentor, awaiting)
    client = browser(mentor, "zh-CN")
    form = {f"score-{k}": str(v) for k, v in full_scores(exam).items()}
    form.update(comment="Masks are fine.", line_comments="softmax:3: mask the tail")
    response = post_form(client, f"/review/{lease.id}/", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请选择一个决定。" in html and "决定尚未记录" in html
    assert "Masks are fine." in html and "softmax:3: mask the tail" in html
    assert html.count("checked") == len(exam.rubric), "the scores chosen stay chosen"
    assert db.session.get(type(lease), lease.id).state.value == "claimed"
    form["decision"] = "approve"
    assert post_form(client, f"/review/{lease.id}/", form).status_code == 302
    assert db.session.get(type(lease), lease.id).line_comments == [
        {"task": "softmax", "line": 3, "text": "mask the tail"}
    ]


def test_line_comments_are_parsed_by_the_review_service() -> None:
    assert review_input.parse_line_comments("softmax:12: mask the tail\n\n gelu : 3 : erf ") == [
        {"task": "softmax", "line": 12, "text": "mask the tail"},
        {"task": "gelu", "line": 3, "text": "erf "},
    ]
    with pytest.raises(review.ReviewError, match="task:line: text"):
        review_input.parse_line_comments("line twelve is wrong")
    assert review_input.form_scores({"score-a": "1", "comment": "x", "score-b": "2"}) == {"a": "1", "b": "2"}


def test_the_integrity_report_command(runner, exam, awaiting, copier) -> None:
    result = runner.invoke(args=["integrity", "report", exam.slug, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["threshold"] == 0.75
    tasks = {p["task"] for p in body["pairs"]}
    assert "softmax" in tasks, "the renamed copy"
    softmax = next(p for p in body["pairs"] if p["task"] == "softmax")
    assert {softmax["a"]["email"], softmax["b"]["email"]} == {awaiting.user.email, "zhang.min@example.com"}
    assert softmax["similarity"] > 0.9
    strict = json.loads(runner.invoke(args=["integrity", "report", exam.slug, "--json", "--threshold", "1"]).output)
    assert len(strict["pairs"]) <= len(body["pairs"])
    text = runner.invoke(args=["integrity", "report", exam.slug])
    assert (
        text.exit_code == 0
        and "flagged pair(s) at 75% or more" in text.output
        and "zhang.min@example.com" in text.output
    )
    assert runner.invoke(args=["integrity", "report", "no-such-exam"]).exit_code == 2
    assert runner.invoke(args=["integrity", "report", exam.slug, "--threshold", "2"]).exit_code == 2
