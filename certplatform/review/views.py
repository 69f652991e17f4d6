"""The mentor review: the queue, a claimed review with the code and the rubric, decisions; admin overrides."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from certplatform.authz import role_required
from certplatform.extensions import db
from certplatform.forms import ActionForm
from certplatform.labels import DECISION_LABELS, REVIEW_STATE_LABELS
from certplatform.models import CertLevel, ExamAttempt, Review, ReviewDecision, ReviewState, Role, SubmissionStatus
from certplatform.review import bp
from certplatform.review.forms import DecisionForm, OverrideForm, ReassignForm
from certplatform.sandbox.kinds import source_suffix
from certplatform.services import accounts, attempts, review
from certplatform.services.issuing import IssuingError
from certplatform.services.markdown import code_html, render

mentors = role_required(Role.MENTOR, Role.ADMIN)
admins = role_required(Role.ADMIN)
LINE_COMMENT = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*:\s*(\d+)\s*:\s*(.+)$")


# Globals, not a context processor: review/_rubric_result.html is imported without context by several pages.
bp.add_app_template_global(DECISION_LABELS, "decision_names")
bp.add_app_template_global(REVIEW_STATE_LABELS, "review_state_names")


def _attempt_or_404(attempt_id: int) -> ExamAttempt:
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None:
        abort(404)
    return attempt


def reviewed_code(attempt: ExamAttempt) -> list[dict[str, object]]:
    """Per task, the submission that counts (the best graded one), highlighted with line anchors."""
    shown = []
    for task in attempts.live_tasks(attempt.exam):
        graded = [s for s in attempt.submissions if s.task_id == task.id and s.status.final and s.status.counts]
        best = max(
            graded, key=lambda s: ((s.score or 0) if s.status != SubmissionStatus.REJECTED else -1, s.id), default=None
        )
        shown.append(
            {
                "task": task,
                "submission": best,
                "html": Markup(_submission_html(task, best.code)) if best else None,  # noqa: S704 - escaped or nh3-cleaned
            }
        )
    return shown


def _submission_html(task, code: str) -> str:
    """Code highlighted by Pygments; a Markdown document (kinds with source_suffix .md) rendered and sanitised."""
    if source_suffix(task.kind) == ".md":
        return render(code)
    return code_html(code, f"{task.slug}-L")


def parse_line_comments(text: str) -> list[dict[str, object]]:
    comments = []
    for raw in (text or "").splitlines():
        if not raw.strip():
            continue
        match = LINE_COMMENT.match(raw)
        if not match:
            raise review.ReviewError(_("Write each line comment as task:line: text."))
        comments.append({"task": match.group(1), "line": int(match.group(2)), "text": match.group(3)})
    return comments


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
    if form.validate_on_submit() and lease.state == ReviewState.CLAIMED:
        scores = {key[len("score-") :]: value for key, value in request.form.items() if key.startswith("score-")}
        try:
            review.decide(
                current_user,
                lease,
                ReviewDecision(form.decision.data),
                scores,
                form.comment.data,
                parse_line_comments(form.line_comments.data),
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
        chosen={k[len("score-") :]: v for k, v in request.form.items() if k.startswith("score-")},
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
    )
