"""The mentor review: the queue, a claimed review with the code and the rubric, decisions; admin overrides."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from certplatform.authz import role_required
from certplatform.extensions import db
from certplatform.forms import ActionForm
from certplatform.labels import DECISION_LABELS, REVIEW_STATE_LABELS
from certplatform.models import CertLevel, ExamAttempt, Review, ReviewDecision, ReviewState, Role
from certplatform.review import bp
from certplatform.review.forms import DecisionForm, OverrideForm, ReassignForm
from certplatform.sandbox.kinds import source_suffix
from certplatform.services import accounts, integrity, review, review_input
from certplatform.services.certificates.issuing import IssuingError
from certplatform.services.markdown import code_html, render

mentors = role_required(Role.MENTOR, Role.ADMIN)
admins = role_required(Role.ADMIN)


# Globals, not a context processor: review/_rubric_result.html is imported without context by several pages.
bp.add_app_template_global(DECISION_LABELS, "decision_names")
bp.add_app_template_global(REVIEW_STATE_LABELS, "review_state_names")


def _attempt_or_404(attempt_id: int) -> ExamAttempt:
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None:
        abort(404)
    return attempt


def reviewed_code(attempt: ExamAttempt) -> list[dict[str, object]]:
    """Per task, every submission with its code: the one that counts with line anchors for comments."""
    shown = []
    for item in review.reviewed_submissions(attempt):
        shown.append(
            {
                "task": item.task,
                "submission": item.counted,
                "html": _submission_html(item.task, item.counted.code, item.task.slug) if item.counted else None,
                "all": [
                    {
                        "submission": s,
                        "html": None
                        if s is item.counted
                        else _submission_html(item.task, s.code, f"{item.task.slug}-s{s.id}"),
                    }
                    for s in item.submissions
                ],
            }
        )
    return shown


def _submission_html(task, code: str, anchor: str) -> Markup:
    """Code highlighted by Pygments; a Markdown document (kinds with source_suffix .md) rendered and sanitised."""
    if source_suffix(task.kind) == ".md":
        return Markup(render(code))  # noqa: S704 - cleaned by nh3
    return Markup(code_html(code, f"{anchor}-L"))  # noqa: S704 - escaped by Pygments


def similarity_report(attempt: ExamAttempt) -> dict[str, object]:
    """The integrity report of the attempt, with both sides of each flagged pair cut at the matching regions."""
    report = integrity.attempt_report(attempt)
    tasks = []
    for item in report.tasks:
        matches = [
            {
                "match": m,
                "other": integrity.other_candidate(current_user, m.other.attempt),
                "mine": integrity.marked_lines(m.submission.code, m.outcome.a.regions),
                "theirs": integrity.marked_lines(m.other.code, m.outcome.b.regions),
            }
            for m in item.matches
        ]
        tasks.append({"task": item.task, "compared": item.compared, "matches": matches})
    return {"threshold": report.threshold, "flagged": report.flagged, "tasks": tasks}


@bp.get("/")
@mentors
def index():
    """The mentor's dashboard: queue (oldest first, filterable by level), own reviews, time to review."""
    level = request.args.get("level")
    level_filter = CertLevel(level) if level in {lv.value for lv in CertLevel} else None
    mine = db.session.scalars(
        db.select(Review).where(Review.mentor_id == current_user.id).order_by(Review.claimed_at.desc()).limit(50)
    ).all()
    waiting = review.queue(current_user, level_filter)
    return render_template(
        "review/index.html",
        queue=waiting,
        level=level_filter,
        mine=mine,
        # The figure counts every level: reuse the list unless a level filter shortened it.
        stats=review.stats(current_user, len(waiting) if level_filter is None else None),
        form=ActionForm(),
    )


@bp.post("/attempts/<int:attempt_id>/claim")
@mentors
def claim(attempt_id: int):
    """Take an attempt from the queue."""
    attempt = _attempt_or_404(attempt_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        lease = review.claim(current_user, attempt)
    except review.ReviewError as exc:
        flash(str(exc), "error")
        return redirect(url_for("review.index"))
    return redirect(url_for("review.detail", review_id=lease.id))


@bp.route("/<int:review_id>/", methods=["GET", "POST"])
@mentors
def detail(review_id: int):
    """A claimed review: the candidate's code per task with its test results, the rubric and the decision."""
    lease = db.session.get(Review, review_id)
    if lease is None or lease.mentor_id != current_user.id:
        abort(404)
    attempt = lease.attempt
    form = DecisionForm()
    status = 200
    if request.method == "POST" and lease.state == ReviewState.CLAIMED:
        if not form.validate_on_submit():
            # Rendered again with everything the mentor typed and chose; the fields say what is missing.
            flash(_("The decision is not recorded yet: see the form below."), "error")
            status = 422
        else:
            try:
                review.decide(
                    current_user,
                    lease,
                    ReviewDecision(form.decision.data),
                    review_input.form_scores(request.form),
                    form.comment.data,
                    review_input.parse_line_comments(form.line_comments.data),
                )
            except (review.ReviewError, IssuingError) as exc:
                flash(str(exc), "error")
                status = 422
            else:
                flash(_("Your decision is recorded."), "success")
                return redirect(url_for("review.index"))
    return render_template(
        "review/detail.html",
        lease=lease,
        attempt=attempt,
        exam=attempt.exam,
        code=reviewed_code(attempt),
        candidate=attempt.user,
        form=form,
        previous=review.reviews_of(attempt),
        chosen=review_input.form_scores(request.form),
        similarity=similarity_report(attempt),
    ), status


@bp.route("/attempts/<int:attempt_id>/manage", methods=["GET", "POST"])
@admins
def manage(attempt_id: int):
    """Admins: decide instead of the mentors, or move a claimed review to another mentor; both need a reason."""
    attempt = _attempt_or_404(attempt_id)
    override_form = OverrideForm(prefix="override")
    reassign_form = ReassignForm(prefix="reassign")
    if override_form.submit_name in request.form and override_form.validate_on_submit():
        try:
            review.override(
                current_user, attempt, ReviewDecision(override_form.decision.data), override_form.reason.data
            )
        except (review.ReviewError, IssuingError) as exc:
            flash(str(exc), "error")
        else:
            flash(_("The decision is recorded."), "success")
        return redirect(url_for("review.manage", attempt_id=attempt.id))
    if reassign_form.submit_name in request.form and reassign_form.validate_on_submit():
        lease = review.active_lease(attempt)
        mentor = accounts.find_by_email(reassign_form.email.data)
        try:
            if lease is None or mentor is None:
                raise review.ReviewError(_("There is no review in progress, or no account with that email."))
            review.reassign(current_user, lease, mentor, reassign_form.reason.data)
        except review.ReviewError as exc:
            flash(str(exc), "error")
        else:
            flash(_("The review is reassigned."), "success")
        return redirect(url_for("review.manage", attempt_id=attempt.id))
    return render_template(
        "review/manage.html",
        attempt=attempt,
        lease=review.active_lease(attempt),
        previous=review.reviews_of(attempt),
        override_form=override_form,
        reassign_form=reassign_form,
        candidate=attempt.user,
        similarity=similarity_report(attempt),
    )
