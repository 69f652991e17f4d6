"""The review stage: who may review, leases, decisions and their consequences, overrides, and the certificate."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import (
    AttemptStatus,
    AuditEvent,
    Certificate,
    ImmutableCertificateError,
    OrganizationKind,
    Review,
    ReviewDecision,
    ReviewState,
    Role,
)
from certplatform.models.types import utcnow
from certplatform.services import attempts, certificates, review
from tests.factories import make_org, make_user
from tests.review_fixtures import full_scores, passed_attempt


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_mentors_never_review_themselves_or_their_own_organization(exam, candidate, mentor, keys) -> None:
    own = passed_attempt(mentor, exam)
    assert review.queue(mentor) == [], "one's own attempt is never in one's queue"
    with pytest.raises(review.ReviewError, match="your own attempt"):
        review.claim(mentor, own)
    attempt = passed_attempt(candidate, exam)
    make_org(OrganizationKind.UNIVERSITY, members=(mentor, candidate))
    assert review.queue(mentor) == []
    assert [a.id for a in review.queue(make_user(Role.MENTOR))] == [own.id, attempt.id], "other mentors see both"
    assert review.queue(make_user(Role.STUDENT)) == []
    with pytest.raises(review.ReviewError, match="your own organization"):
        review.claim(mentor, attempt)
    student = make_user(Role.STUDENT)
    with pytest.raises(review.ReviewError, match="Only mentors"):
        review.claim(student, attempt)


def test_the_queue_is_oldest_first_and_a_lease_keeps_others_out(exam, candidate, mentor, second_mentor, keys) -> None:
    newer = passed_attempt(candidate, exam)
    older = passed_attempt(make_user(), exam)
    older.finished_at = utcnow() - timedelta(days=2)
    db.session.commit()
    assert [a.id for a in review.queue(mentor)] == [older.id, newer.id]
    lease = review.claim(mentor, older)
    assert review.claim(mentor, older).id == lease.id, "claiming one's own lease again is harmless"
    assert [a.id for a in review.queue(second_mentor)] == [newer.id]
    with pytest.raises(review.ReviewError, match="Another mentor"):
        review.claim(second_mentor, older)
    # The lease lapses: the attempt returns to the queue for everyone.
    lease.lease_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert review.release_expired() == 1
    assert db.session.get(Review, lease.id).state is ReviewState.RELEASED
    assert older.id in [a.id for a in review.queue(second_mentor)]
    assert review.claim(second_mentor, older).mentor_id == second_mentor.id
    with pytest.raises(review.ReviewError, match="not yours"):
        review.decide(mentor, lease, ReviewDecision.APPROVE, full_scores(exam), "")


def test_approval_issues_one_signed_certificate(exam, awaiting, mentor, keys) -> None:
    lease = review.claim(mentor, awaiting)
    review.decide(mentor, lease, ReviewDecision.APPROVE, full_scores(exam), "Clean kernels.")
    assert awaiting.status is AttemptStatus.APPROVED
    cert = db.session.scalar(sa.select(Certificate))
    assert cert.attempt_id == awaiting.id and cert.level.value == "L1"
    assert cert.expires_at - cert.issued_at == timedelta(days=730)
    assert cert.snapshot["holder"]["name_latin"] == awaiting.user.name_latin
    assert cert.snapshot["score_basis_points"] == 9500 and cert.key_id == keys.key_id
    assert certificates.status.assess(cert).intact and cert.pdf.startswith(b"%PDF")
    assert certificates.issuing.issue(awaiting).id == cert.id, "issuing again returns the same certificate"
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1
    assert {"review.claim", "review.decide", "certificate.issue"} <= set(_actions())
    assert certificates.issuing.certified_levels(awaiting.user) == {"L1"}


def test_a_certificate_cannot_be_rewritten_or_deleted(exam, awaiting, mentor, keys) -> None:
    review.decide(mentor, review.claim(mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "")
    cert = db.session.scalar(sa.select(Certificate))
    cert.snapshot = {**cert.snapshot, "level": "L3"}
    with pytest.raises(ImmutableCertificateError):
        db.session.commit()
    db.session.rollback()
    cert.renews_id = cert.id  # what the signed snapshot says it renews is as fixed as the rest
    with pytest.raises(ImmutableCertificateError, match="renews_id"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(cert)
    with pytest.raises(ImmutableCertificateError):
        db.session.commit()
    db.session.rollback()


def test_a_tampered_record_no_longer_matches_its_signature(exam, awaiting, mentor, keys) -> None:
    review.decide(mentor, review.claim(mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "")
    cert = db.session.scalar(sa.select(Certificate))
    db.session.execute(
        sa.text("UPDATE certificates SET snapshot = :s"),
        {"s": __import__("json").dumps({**cert.snapshot, "level": "L3"})},
    )
    db.session.commit()
    db.session.expire_all()
    found = certificates.status.assess(db.session.get(Certificate, cert.id))
    assert found.status == "invalid" and found.problems == ("record_signature",) and found.facts is None


def test_two_independent_approvals_at_l3(exam, awaiting, mentor, second_mentor, keys) -> None:
    exam.approvals_required = 2
    db.session.commit()
    review.decide(mentor, review.claim(mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "")
    assert awaiting.status is AttemptStatus.AWAITING_REVIEW and db.session.scalar(sa.select(Certificate)) is None
    assert awaiting.id not in [a.id for a in review.queue(mentor)], "the same mentor cannot approve twice"
    with pytest.raises(review.ReviewError, match="already reviewed"):
        review.claim(mentor, awaiting)
    review.decide(second_mentor, review.claim(second_mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "")
    assert awaiting.status is AttemptStatus.APPROVED and db.session.scalar(sa.select(Certificate)) is not None


def test_decisions_need_a_full_rubric_and_reasons(exam, awaiting, mentor, keys) -> None:
    lease = review.claim(mentor, awaiting)
    partial = dict(list(full_scores(exam).items())[:2])
    with pytest.raises(review.ReviewError, match="Score every criterion"):
        review.decide(mentor, lease, ReviewDecision.APPROVE, partial, "")
    with pytest.raises(review.ReviewError, match="Score every criterion"):
        review.decide(mentor, lease, ReviewDecision.APPROVE, {**full_scores(exam), "code_clarity": 7}, "")
    with pytest.raises(review.ReviewError, match="Explain"):
        review.decide(mentor, lease, ReviewDecision.REJECT, full_scores(exam), "  ")
    with pytest.raises(review.ReviewError, match="line of a submitted task"):
        review.decide(
            mentor, lease, ReviewDecision.REJECT, full_scores(exam), "No.", [{"task": "nope", "line": 3, "text": "x"}]
        )
    assert db.session.get(Review, lease.id).state is ReviewState.CLAIMED, "nothing was recorded"


def test_requested_changes_reopen_the_attempt_for_a_new_revision(exam, awaiting, mentor, second_mentor, keys) -> None:
    lease = review.claim(mentor, awaiting)
    review.decide(
        mentor,
        lease,
        ReviewDecision.REQUEST_CHANGES,
        full_scores(exam),
        "Use fp32 accumulation.",
        [{"task": "softmax", "line": 12, "text": "mask the last block"}],
    )
    assert awaiting.status is AttemptStatus.IN_PROGRESS and awaiting.revision == 1
    assert awaiting.deadline_at - utcnow() > timedelta(days=exam.resubmit_days - 1)
    assert attempts.is_open(awaiting)
    # The candidate hands in again; graded as before, it returns to the queue as revision 1 for any mentor.
    attempts.finish(awaiting, actor=awaiting.user)
    assert awaiting.status is AttemptStatus.AWAITING_REVIEW
    assert awaiting.id in [a.id for a in review.queue(mentor)], "a new revision may be reviewed again"
    review.decide(second_mentor, review.claim(second_mentor, awaiting), ReviewDecision.APPROVE, full_scores(exam), "")
    assert awaiting.status is AttemptStatus.APPROVED


def test_rejection_counts_and_starts_the_cooldown(exam, awaiting, mentor, keys) -> None:
    review.decide(mentor, review.claim(mentor, awaiting), ReviewDecision.REJECT, full_scores(exam), "Copied code.")
    assert awaiting.status is AttemptStatus.REJECTED
    decision = attempts.can_start(awaiting.user, exam)
    assert not decision.allowed and decision.next_allowed_at is not None


def test_admin_override_and_reassign_are_audited(exam, awaiting, mentor, second_mentor, keys) -> None:
    admin = make_user(Role.ADMIN)
    lease = review.claim(mentor, awaiting)
    with pytest.raises(review.ReviewError, match="needs a reason"):
        review.override(admin, awaiting, ReviewDecision.APPROVE, "")
    moved = review.reassign(admin, lease, second_mentor, "Mentor on leave")
    assert db.session.get(Review, lease.id).state is ReviewState.RELEASED and moved.mentor_id == second_mentor.id
    review.override(admin, awaiting, ReviewDecision.APPROVE, "Appeal upheld by the board")
    assert awaiting.status is AttemptStatus.APPROVED
    events = {e.action: e for e in db.session.scalars(sa.select(AuditEvent))}
    assert events["review.override"].details["reason"] == "Appeal upheld by the board"
    assert events["review.reassign"].details["to_mentor"] == second_mentor.id


def test_without_keys_an_approval_changes_nothing(app, exam, awaiting, mentor, tmp_path) -> None:
    app.config["CERT_KEYS_DIR"] = str(tmp_path / "no-keys")
    lease = review.claim(mentor, awaiting)
    with pytest.raises(certificates.issuing.IssuingError, match="cannot be signed"):
        review.decide(mentor, lease, ReviewDecision.APPROVE, full_scores(exam), "")
    db.session.expire_all()
    assert awaiting.status is AttemptStatus.AWAITING_REVIEW
    assert db.session.get(Review, lease.id).state is ReviewState.CLAIMED


def test_renewal_links_the_new_certificate_to_the_old(app, exam, candidate, mentor, keys) -> None:
    first = passed_attempt(candidate, exam)
    review.decide(mentor, review.claim(mentor, first), ReviewDecision.APPROVE, full_scores(exam), "")
    old = db.session.scalar(sa.select(Certificate))
    assert not attempts.can_start(candidate, exam).allowed, "a valid certificate: no retake before the renewal window"
    app.config["CERT_RENEWAL_DAYS"] = 800  # inside the renewal window
    assert attempts.can_start(candidate, exam).allowed
    second = passed_attempt(candidate, exam)
    review.decide(mentor, review.claim(mentor, second), ReviewDecision.APPROVE, full_scores(exam), "")
    new = db.session.scalar(sa.select(Certificate).where(Certificate.attempt_id == second.id))
    assert new.renews_id == old.id and new.snapshot["renews"] == old.id


def test_the_queue_costs_the_same_queries_however_long(exam, mentor) -> None:
    for _ in range(3):
        passed_attempt(make_user(), exam)

    def count() -> int:
        assert mentor.role_set  # the mentor (expired by the commits above) is reloaded before counting
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            review.queue(mentor)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = count()
    for _ in range(20):
        passed_attempt(make_user(), exam)
    assert count() == few
