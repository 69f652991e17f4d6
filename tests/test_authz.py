"""Every route x every role: each view declares its access, and nothing leaks to those it refuses."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.authz import Access, access_of
from certplatform.content.sync import sync_content
from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    AuditEvent,
    Certificate,
    Course,
    Exam,
    ExamAttempt,
    OrganizationKind,
    QuizAttempt,
    ReviewDecision,
    Role,
    Submission,
    SubmissionStatus,
    UserRole,
)
from certplatform.models.types import utcnow
from certplatform.services import accounts, attempts, certificates, cohorts, companies, review
from tests.conftest import post_form
from tests.exam_fixtures import write_exam_root
from tests.factories import make_org, make_user
from tests.html_checks import page_problems, recording_undefined
from tests.review_fixtures import full_scores, passed_attempt

SECRET_EMAIL = "secret-target@example.com"
SECRET_ORG = "Hidden Research Institute"
SECRET_CODE = "secret code of the target"
IDENTITIES = [None, *Role]  # None: an anonymous visitor


def _rules():
    app = create_app({"ENV_NAME": "test"})
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"], app


def test_every_route_declares_its_access() -> None:
    rules, app = _rules()
    undeclared = [r.rule for r in rules if access_of(app.view_functions[r.endpoint]) is None]
    assert undeclared == [], "each view needs @public, @login_required or @role_required"


PUBLIC = Access("public")
LOGIN = Access("login")
ADMIN_ONLY = Access("roles", frozenset({Role.ADMIN}))
MENTORS = Access("roles", frozenset({Role.MENTOR, Role.ADMIN}))
COMPANIES = Access("roles", frozenset({Role.COMPANY_MEMBER, Role.ADMIN}))
UNIVERSITIES = Access("roles", frozenset({Role.UNIVERSITY_ADMIN, Role.ADMIN}))
# The intended policy of every route, one entry each and no patterns: a new route must be added here, so a
# mistake in its decorator (say, login_required where only admins belong) fails this test instead of shipping.
EXPECTED_POLICY = {
    "account.change_password": LOGIN,
    "account.end_other_sessions": LOGIN,
    "account.profile": LOGIN,
    "account.signed_in": LOGIN,
    "admin.add_member": ADMIN_ONLY,
    "admin.audit_log": ADMIN_ONLY,
    "admin.content": ADMIN_ONLY,
    "admin.grant_role": ADMIN_ONLY,
    "admin.index": ADMIN_ONLY,
    "admin.organization_detail": ADMIN_ONLY,
    "admin.organizations": ADMIN_ONLY,
    "admin.remove_member": ADMIN_ONLY,
    "admin.revoke_role": ADMIN_ONLY,
    "admin.set_active": ADMIN_ONLY,
    "admin.set_manages": ADMIN_ONLY,
    "admin.user_detail": ADMIN_ONLY,
    "admin.users": ADMIN_ONLY,
    "api.certificate": PUBLIC,
    "api.issuer": PUBLIC,
    "api.openapi": PUBLIC,
    "api.status_list": PUBLIC,
    "api.verify_bulk": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": LOGIN,
    "auth.register": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.reset_request": PUBLIC,
    "certs.badge": LOGIN,
    "certs.baked_badge": LOGIN,
    "certs.directory_consent": LOGIN,
    "certs.mine": LOGIN,
    "certs.pdf": LOGIN,
    "certs.profile": PUBLIC,
    "certs.revoke": ADMIN_ONLY,
    "cohorts.apply": UNIVERSITIES,
    "cohorts.dashboard": LOGIN,  # cohort pages for members check the cohort itself (404 to everyone else)
    "cohorts.export": LOGIN,
    "cohorts.index": UNIVERSITIES,
    "cohorts.leave": LOGIN,
    "cohorts.mine": LOGIN,
    "cohorts.new": UNIVERSITIES,
    "cohorts.remove": UNIVERSITIES,
    "cohorts.upload": UNIVERSITIES,
    "cohorts.upload_report": UNIVERSITIES,
    "company.contact": COMPANIES,
    "company.index": COMPANIES,
    "company.keys": COMPANIES,
    "company.revoke": COMPANIES,
    "company.talent": COMPANIES,
    "exams.attempt": LOGIN,
    "exams.exam": LOGIN,
    "exams.finish": LOGIN,
    "exams.index": PUBLIC,
    "exams.start": LOGIN,
    "exams.submission_status": LOGIN,
    "exams.task": LOGIN,
    "learn.asset": PUBLIC,
    "learn.attempt": LOGIN,
    "learn.catalogue": PUBLIC,
    "learn.course": PUBLIC,
    "learn.enroll": LOGIN,
    "learn.lesson": LOGIN,
    "learn.mine": LOGIN,
    "learn.quiz": LOGIN,
    "main.dashboard": LOGIN,
    "main.healthz": PUBLIC,
    "main.index": PUBLIC,
    "main.livez": PUBLIC,
    "main.set_language": PUBLIC,
    "messages.inbox": LOGIN,
    "messages.thread": LOGIN,
    "orgs.detail": LOGIN,
    "orgs.mine": LOGIN,
    "review.claim": MENTORS,
    "review.detail": MENTORS,
    "review.index": MENTORS,
    "review.manage": ADMIN_ONLY,
    "verify.index": PUBLIC,
    "verify.level_badge": PUBLIC,
    "verify.page": PUBLIC,
    "verify.pdf": PUBLIC,
    "verify.status_badge": PUBLIC,  # fetched by profile pages and model cards, never signed in
}


def test_declared_access_matches_the_intended_policy() -> None:
    rules, app = _rules()
    endpoints = {r.endpoint for r in rules}
    assert sorted(endpoints - EXPECTED_POLICY.keys()) == [], "add each new route to EXPECTED_POLICY"
    assert sorted(EXPECTED_POLICY.keys() - endpoints) == [], "remove routes that no longer exist"
    wrong = {
        e: access_of(app.view_functions[e]) for e in endpoints if access_of(app.view_functions[e]) != EXPECTED_POLICY[e]
    }
    assert wrong == {}


@pytest.fixture
def world(app, tmp_path, keys):
    """A target account, its organization and quiz attempt, none of which belong to the visitors below."""
    target = make_user(Role.STUDENT, email=SECRET_EMAIL)
    org = make_org(OrganizationKind.UNIVERSITY, name=SECRET_ORG, members=(target,))
    token = accounts.make_reset_token(target)
    root = write_exam_root(tmp_path / "content")
    app.config["CONTENT_ROOT"] = str(root)
    sync_content(root)
    exam = db.session.scalar(sa.select(Exam))
    exam_attempt = ExamAttempt(
        user_id=target.id,
        exam_id=exam.id,
        status=AttemptStatus.IN_PROGRESS,
        deadline_at=utcnow() + timedelta(hours=1),
        content_version="x",
    )
    db.session.add(exam_attempt)
    db.session.flush()
    task = exam.tasks[0]
    graded = Submission(
        attempt_id=exam_attempt.id,
        task_id=task.id,
        status=SubmissionStatus.PASSED,
        score=1.0,
        code="# secret code of the target",
        code_sha256="0" * 64,
    )
    db.session.add(graded)
    course = db.session.scalar(sa.select(Course))
    module = course.modules[0]
    lesson = module.lessons[0]
    attempt = QuizAttempt(
        user_id=target.id,
        quiz_id=module.quiz.id,
        score=1.0,
        passed=True,
        answers={},
        results={},
        content_version="x",
    )
    db.session.add(attempt)
    db.session.commit()
    reviewed, lease, revoked = _decided_states(app, tmp_path, target, exam)
    return {
        "user_id": target.id,
        "org_id": org.id,
        "slug": org.slug,
        "role": "student",
        "token": token,
        "course": course.slug,
        "module": module.slug,
        "lesson": lesson.slug,
        "attempt_id": attempt.id,
        "lesson_id": lesson.id,
        "filename": "diagram.svg",
        # Exam routes name their own slug and attempt: the target's exam attempt and submission.
        "exams": {"slug": exam.slug, "attempt_id": exam_attempt.id, "task": task.slug, "submission_id": graded.id},
        # A resubmitted attempt with a decided review, under a second mentor's review; a revoked certificate.
        "review": {"attempt_id": reviewed.id, "review_id": lease.id},
        "certs": {"cert_id": revoked.id, "slug": "no-such-holder"},
        "verify": {"cert_id": revoked.id, "level": "L1"},
        "api": {"cert_id": revoked.id},
        # The world's organization is a university: no company page of it exists for anyone.
        "company": {"key_id": 999999},
        "messages": {"message_id": 999999},
        "cohorts": {"cohort_id": 999999, "upload_id": 999999, "user_id": 999999},
    }


def _decided_states(app, tmp_path, target, exam):
    """The target's attempts after the review: one approved (its certificate since revoked), one sent back for
    changes, resubmitted and now claimed by a second mentor."""
    first, second = make_user(Role.MENTOR), make_user(Role.MENTOR)
    board = make_user(Role.ADMIN)
    approved = passed_attempt(target, exam)
    review.decide(first, review.claim(first, approved), ReviewDecision.APPROVE, full_scores(exam), "Well masked.")
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.attempt_id == approved.id))
    certificates.revocation.revoke(board, cert, "Issued against a withdrawn exam version")
    resubmitted = passed_attempt(target, exam)
    review.decide(
        first,
        review.claim(first, resubmitted),
        ReviewDecision.REQUEST_CHANGES,
        full_scores(exam),
        "Accumulate in fp32.",
        [{"task": "softmax", "line": 2, "text": "mask the tail"}],
    )
    attempts.finish(resubmitted, actor=target)
    return resubmitted, review.claim(second, resubmitted), cert


def _path(rule, world) -> str:
    path = rule.rule
    world = {**world, **world.get(rule.endpoint.split(".")[0], {})}
    for arg in rule.arguments:
        path = path.replace(f"<int:{arg}>", str(world[arg])).replace(f"<{arg}>", str(world[arg]))
    return path


# Pages scoped to their owners answer 404 to everyone else, however the route's policy reads:
# organization pages to non-members (admins excepted), quiz attempts to anyone but the learner.
SCOPED = {
    "orgs.detail": {Role.ADMIN},
    "learn.attempt": set(),
    "exams.attempt": set(),
    "exams.task": set(),
    "exams.finish": set(),
    "exams.submission_status": set(),
    # Another mentor's review, another holder's certificate (admins excepted), no such public profile.
    "review.detail": set(),
    "certs.pdf": {Role.ADMIN},
    "certs.badge": {Role.ADMIN},
    "certs.baked_badge": {Role.ADMIN},
    "certs.profile": set(),
    "company.keys": set(),
    "company.revoke": set(),
    "company.talent": set(),
    "company.contact": set(),
    "messages.thread": set(),
    "cohorts.dashboard": set(),
    "cohorts.export": set(),
    "cohorts.upload": set(),
    "cohorts.upload_report": set(),
    "cohorts.apply": set(),
    "cohorts.remove": set(),
    "cohorts.leave": set(),
}
# Routes that authenticate with an API key instead of a session: 401 without one, for every visitor.
KEYED = {"api.verify_bulk"}


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda r: r.value if r else "anonymous")
def test_role_matrix(app, client, auth, world, identity: Role | None) -> None:
    stack = ExitStack()
    try:
        _walk_the_matrix(app, client, auth, world, identity, stack)
    finally:
        stack.close()


def _walk_the_matrix(app, client, auth, world, identity: Role | None, stack: ExitStack) -> None:
    if identity is not None:
        visitor = make_user(identity, email=f"visitor-{identity.value}@example.com")
        if identity != Role.STUDENT:  # hold exactly the one role under test
            db.session.execute(sa.delete(UserRole).where(UserRole.user_id == visitor.id, UserRole.role == Role.STUDENT))
            db.session.commit()
        assert auth.login(visitor.email).status_code == 302
    roles = frozenset({identity}) if identity else None
    audit_before = db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
    problems: list[str] = []
    undefined = stack.enter_context(recording_undefined(app))

    for rule in [r for r in app.url_map.iter_rules() if r.endpoint != "static"]:
        access: Access = access_of(app.view_functions[rule.endpoint])
        allowed = access.allows(roles)
        path = _path(rule, world)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "POST" and rule.endpoint in {"auth.logout"}:
                continue  # would end the session under test; covered in test_auth
            response = client.get(path) if method == "GET" else post_form(client, path, {"role": "admin"})
            status = response.status_code
            body = response.get_data().decode("utf-8", "replace")  # PDFs and badges are bytes
            where = f"{method} {path} as {identity.value if identity else 'anonymous'}"
            if status == 200 and response.mimetype == "text/html":
                problems += [f"{where}: {p}" for p in page_problems(body)]
                problems += [f"{where}: undefined {name!r} printed" for name in undefined]
                undefined.clear()
            if not allowed:
                expected = {302} if identity is None else {403}
                if status not in expected:
                    problems.append(f"{where}: {status}, expected {expected}")
                if identity is None and status == 302 and "/auth/login" not in response.location:
                    problems.append(f"{where}: redirected to {response.location}, not to login")
            else:
                if rule.endpoint in KEYED:
                    if status != 401:
                        problems.append(f"{where}: {status}, expected 401 without an API key")
                elif rule.endpoint in SCOPED and identity not in SCOPED[rule.endpoint]:
                    if status != 404:
                        problems.append(f"{where}: {status}, scoped pages answer 404 to outsiders")
                elif status >= 500 or status in {401, 403, 404}:
                    problems.append(f"{where}: {status} for an allowed visitor")
            if SECRET_CODE in body or (status in {302, 403, 404} and (SECRET_EMAIL in body or SECRET_ORG in body)):
                problems.append(f"{where}: refused but the body names the target")

    assert problems == []
    if identity != Role.ADMIN:
        # Refused POSTs changed nothing: whatever was recorded is the visitor acting on their own account.
        new = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > audit_before)).all()
        visitor_id = visitor.id if identity is not None else None
        own = str(visitor_id) if visitor_id is not None else None
        assert [(e.action, e.target_id) for e in new if e.actor_id != visitor_id or e.target_id != own] == []
        assert db.session.scalar(sa.select(UserRole.role).where(UserRole.user_id == world["user_id"])) == Role.STUDENT


def test_organization_scoping(client, auth) -> None:
    manager = make_user(Role.UNIVERSITY_ADMIN, email="manager@example.com")
    student = make_user(Role.STUDENT, email="member@example.com")
    outsider = make_user(Role.UNIVERSITY_ADMIN, email="other-admin@example.com")
    uni = make_org(OrganizationKind.UNIVERSITY, name="Tsinghua Demo", members=(manager, student))
    other = make_org(OrganizationKind.UNIVERSITY, name="Other Uni", members=(outsider,))

    auth.login(manager.email)
    page = client.get(f"/orgs/{uni.slug}/").get_data(as_text=True)
    assert "member@example.com" in page, "the managing role sees the member list"
    assert client.get(f"/orgs/{other.slug}/").status_code == 404
    assert client.get("/orgs/no-such-org/").status_code == 404
    listing = client.get("/orgs/").get_data(as_text=True)
    assert "Tsinghua Demo" in listing and "Other Uni" not in listing
    auth.logout()

    auth.login(student.email)
    page = client.get(f"/orgs/{uni.slug}/")
    assert page.status_code == 200
    assert "manager@example.com" not in page.get_data(as_text=True), "plain members do not see the list"
    auth.logout()

    auth.login(outsider.email)
    refused = client.get(f"/orgs/{uni.slug}/")
    assert refused.status_code == 404
    assert "Tsinghua Demo" not in refused.get_data(as_text=True)


def test_navigation_follows_roles(client, auth) -> None:
    admin = make_user(Role.ADMIN, email="boss@example.com")
    student = make_user(Role.STUDENT, email="kid@example.com")
    auth.login(student.email)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/admin/"' not in html and 'href="/orgs/"' not in html
    auth.logout()
    auth.login(admin.email)
    assert 'href="/admin/"' in client.get("/dashboard").get_data(as_text=True)


def test_the_managing_role_counts_only_where_it_is_held(client, auth) -> None:
    """A university administrator of one university who is a plain member of another manages only the first."""
    registrar = make_user(Role.UNIVERSITY_ADMIN, Role.COMPANY_MEMBER, email="registrar@example.com")
    colleague = make_user(Role.UNIVERSITY_ADMIN, email="colleague@example.com")
    own = make_org(OrganizationKind.UNIVERSITY, name="Own Uni", members=(registrar,))
    other = make_org(
        OrganizationKind.UNIVERSITY, name="Other Uni", members=(registrar, colleague), managers=(colleague,)
    )
    employer = make_org(OrganizationKind.COMPANY, name="Plain Member Co", members=(registrar,), managers=())
    cohort = cohorts.create_cohort(
        colleague, other.id, "Other class", "Spring", ["L1"], date(2026, 3, 1), date(2026, 7, 1), ""
    )
    assert [o.id for o in cohorts.managed_organizations(registrar)] == [own.id]
    assert companies.companies_of(registrar) == []
    with pytest.raises(cohorts.CohortError):
        cohorts.create_cohort(registrar, other.id, "Mine now", "Spring", ["L1"], date(2026, 3, 1), date(2026, 7, 1), "")
    auth.login(registrar.email)
    for path in (f"/cohorts/{cohort.id}/", f"/cohorts/{cohort.id}/export.csv", f"/cohorts/{cohort.id}/upload"):
        assert client.get(path).status_code == 404, path
    assert "Other class" not in client.get("/cohorts/").get_data(as_text=True)
    assert "colleague@example.com" not in client.get(f"/orgs/{other.slug}/").get_data(as_text=True)
    assert client.get(f"/company/{employer.id}/keys").status_code == 404
    assert post_form(client, f"/company/{employer.id}/keys", {"name": "mine"}).status_code == 404
    auth.logout()
    auth.login(colleague.email)
    assert client.get(f"/cohorts/{cohort.id}/export.csv").status_code == 200


def test_admins_give_and_take_the_managing_role_per_organization(client, auth) -> None:
    admin = make_user(Role.ADMIN, email="root@example.com")
    registrar = make_user(Role.UNIVERSITY_ADMIN, email="registrar@example.com")
    uni = make_org(OrganizationKind.UNIVERSITY, name="Some Uni")
    auth.login(admin.email)
    post_form(client, f"/admin/organizations/{uni.id}/members", {"email": registrar.email})
    assert cohorts.managed_organizations(registrar) == [], "added as a plain member"
    post_form(client, f"/admin/organizations/{uni.id}/members/{registrar.id}/manages", {"manages": "1"})
    assert [o.id for o in cohorts.managed_organizations(registrar)] == [uni.id]
    assert "manages this organization" in client.get(f"/admin/organizations/{uni.id}").get_data(as_text=True)
    post_form(client, f"/admin/organizations/{uni.id}/members/{registrar.id}/manages", {"manages": "0"})
    assert cohorts.managed_organizations(registrar) == []
    events = sa.select(AuditEvent.details).where(AuditEvent.action == "organization.member_manages")
    actions = db.session.scalars(events)
    assert [d["manages"] for d in actions] == [True, False]
