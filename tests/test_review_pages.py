"""Every page that shows a decided review opens, for the candidate, the mentors and the admin, after each decision."""

from __future__ import annotations

import pytest
from flask import Flask
from jinja2 import meta, nodes

from certplatform.models import ExamAttempt, Review, ReviewDecision, Role, User
from certplatform.services import attempts, review
from tests.conftest import post_form
from tests.factories import PASSWORD, make_user
from tests.review_fixtures import full_scores

LANGUAGES = {"en": ("approved", "changes requested", "rejected"), "zh-CN": ("已批准", "要求修改", "已拒绝")}


@pytest.fixture
def browser(app: Flask):
    """browser(user, language): a client signed in as `user`, once per test (logins are rate limited)."""
    signed_in: dict[tuple[str, str], object] = {}

    def open_as(user: User, language: str):
        if (user.email, language) not in signed_in:
            client = app.test_client()
            client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
            assert post_form(client, "/auth/login", {"email": user.email, "password": PASSWORD}).status_code == 302
            signed_in[user.email, language] = client
        return signed_in[user.email, language]

    return open_as


def _pages(browser, exam, attempt: ExamAttempt, reviews: dict[User, Review], admin: User, language: str):
    """(who, path, body) of every page that shows the attempt's decided reviews."""
    pages = [(attempt.user, f"/exams/{exam.slug}/attempts/{attempt.id}/")]
    pages += [(mentor, f"/review/{lease.id}/") for mentor, lease in reviews.items()]
    pages.append((admin, f"/review/attempts/{attempt.id}/manage"))
    for user, path in pages:
        response = browser(user, language).get(path)
        assert response.status_code == 200, f"{path} as {user.email}: {response.status_code}"
        yield user, path, response.get_data(as_text=True)


@pytest.fixture
def admin() -> User:
    return make_user(Role.ADMIN, email="admin@example.com")


@pytest.mark.parametrize("language", list(LANGUAGES))
@pytest.mark.parametrize("decision", [ReviewDecision.APPROVE, ReviewDecision.REJECT])
def test_a_final_decision_is_shown_everywhere(browser, exam, awaiting, mentor, admin, keys, decision, language) -> None:
    lease = review.claim(mentor, awaiting)
    review.decide(mentor, lease, decision, full_scores(exam), "Masks are right; see the comments.")
    label = LANGUAGES[language][0 if decision is ReviewDecision.APPROVE else 2]
    for _user, path, html in _pages(browser, exam, awaiting, {mentor: lease}, admin, language):
        assert label in html, path
        assert "Masks are right; see the comments." in html, path


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_requested_changes_a_resubmission_and_a_second_review(
    browser, exam, awaiting, mentor, second_mentor, admin, keys, language
) -> None:
    first = review.claim(mentor, awaiting)
    review.decide(
        mentor,
        first,
        ReviewDecision.REQUEST_CHANGES,
        full_scores(exam),
        "Accumulate in fp32.",
        [{"task": "softmax", "line": 3, "text": "mask the tail"}],
    )
    requested = LANGUAGES[language][1]
    for _user, path, html in _pages(browser, exam, awaiting, {mentor: first}, admin, language):
        assert requested in html and "Accumulate in fp32." in html, path
    # The candidate hands the revision in; a second mentor opens it with the first decision above the code.
    attempts.finish(awaiting, actor=awaiting.user)
    second = review.claim(second_mentor, awaiting)
    html = browser(second_mentor, language).get(f"/review/{second.id}/").get_data(as_text=True)
    assert requested in html and "mask the tail" in html and 'name="score-' in html
    review.decide(second_mentor, second, ReviewDecision.APPROVE, full_scores(exam), "")
    for _user, path, html in _pages(browser, exam, awaiting, {mentor: first, second_mentor: second}, admin, language):
        assert requested in html and LANGUAGES[language][0] in html, path


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_an_admin_override_is_shown_everywhere(browser, exam, awaiting, mentor, admin, keys, language) -> None:
    lease = review.claim(mentor, awaiting)
    manage = browser(admin, language)
    response = post_form(
        manage,
        f"/review/attempts/{awaiting.id}/manage",
        {"override-decision": "reject", "override-reason": "Plagiarism confirmed by the board"},
    )
    assert response.status_code == 302
    for _user, path, html in _pages(browser, exam, awaiting, {mentor: lease}, admin, language):
        assert "Plagiarism confirmed by the board" in html, path
        assert LANGUAGES[language][2] in html, path


def _imported_templates(env) -> set[str]:
    """Templates pulled in with {% import %} / {% from ... import %} without `with context`."""
    found = set()
    for name in env.list_templates(extensions=["html", "txt"]):
        tree = env.parse(env.loader.get_source(env, name)[0])
        for node in tree.find_all((nodes.Import, nodes.FromImport)):
            if not node.with_context and isinstance(node.template, nodes.Const):
                found.add(node.template.value)
    return found


def test_macros_imported_without_context_only_use_globals(app) -> None:
    """Such a macro sees the Jinja globals but no context processor: every name it reads must be a global."""
    env = app.jinja_env
    imported = _imported_templates(env)
    assert "review/_rubric_result.html" in imported
    unknown = {
        name: sorted(meta.find_undeclared_variables(env.parse(env.loader.get_source(env, name)[0])) - set(env.globals))
        for name in sorted(imported)
    }
    assert {name: names for name, names in unknown.items() if names} == {}
