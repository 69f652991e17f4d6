"""The practical exam: start a timed attempt, submit each task, watch it graded live, see the score."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from certplatform.authz import login_required, public
from certplatform.exams import bp
from certplatform.exams.forms import DocumentForm, HandInForm, SubmissionForm
from certplatform.forms import ActionForm
from certplatform.extensions import db, limiter
from certplatform.i18n import pick
from certplatform.labels import STATUS_LABELS
from certplatform.models import AttemptStatus, Certificate, ExamAttempt, Submission, SubmissionStatus
from certplatform.models.types import utcnow
from certplatform.sandbox import grader_messages
from certplatform.sandbox.kinds import source_suffix
from certplatform.services import attempts, grading, grading_queue, review, sandbox_build
from certplatform.services.markdown import code_html, render


def _exam_or_404(slug: str):
    exam = attempts.live_exam(slug)
    if exam is None:
        abort(404)
    return exam


def _own_attempt_or_404(exam, attempt_id: int) -> ExamAttempt:
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id or attempt.exam_id != exam.id:
        abort(404)
    return attempt


def _task_or_404(exam, slug: str):
    task = next((t for t in attempts.live_tasks(exam) if t.slug == slug), None)
    if task is None:
        abort(404)
    return task


def prompt_html(task) -> Markup:
    return Markup(render(pick(task.prompt_zh, task.prompt_en)))  # noqa: S704 - sanitised by nh3


def task_title(task) -> str:
    """The first heading of the prompt in the reader's language, else the task id."""
    body = pick(task.prompt_zh, task.prompt_en)
    first = next((line for line in body.splitlines() if line.startswith("# ")), "")
    return first[2:].strip() or task.slug


bp.add_app_template_global(task_title)
bp.add_app_template_global(grader_messages.submission_message)
bp.add_app_template_global(grader_messages.test_message)
bp.add_app_template_global(STATUS_LABELS, "status_names")


def waiting_note() -> str:
    """What a queued submission says while the grading image is being built."""
    return _(
        "Received: waiting for the grading sandbox, which is being prepared. Grading starts as soon as it is ready."
    )


bp.add_app_template_global(waiting_note)


def _sandbox_preparing():
    """The image build under way, if any, read once per request (the banner and every queued submission ask)."""
    if "sandbox_preparing" not in g:
        g.sandbox_preparing = sandbox_build.preparing()
    return g.sandbox_preparing


@bp.context_processor
def sandbox_state() -> dict[str, object]:
    """The image build under way, if any, for the banner on every exam page (exams/_sandbox_banner.html)."""
    return {"sandbox_preparing": _sandbox_preparing()}


def submission_json(submission: Submission) -> dict[str, object]:
    """What the candidate sees of a submission: never the tests themselves, the seed or the reference."""
    message = grader_messages.submission_message(submission.message)
    if not message and submission.status.value == "queued" and _sandbox_preparing() is not None:
        message = waiting_note()
    return {
        "id": submission.id,
        "status": submission.status.value,
        "final": submission.status.final,
        "score": submission.score,
        "message": message,
        "tests": [
            {
                "name": t.get("name"),
                "passed": t.get("passed"),
                "score": t.get("score"),
                "message": grader_messages.test_message(t),
            }
            for t in submission.tests or []
        ],
        "stdout": submission.stdout or "",
        "stderr": submission.stderr or "",
        "duration_s": submission.duration_s,
        "created_at": submission.created_at.isoformat(),
        "queue": queue_note(submission),
    }


def queue_note(submission: Submission) -> str:
    """Where a queued submission stands and about when its result comes; empty once grading started."""
    if submission.status == SubmissionStatus.SUPERSEDED:
        return _("A newer submission of this task replaced this one before its grading started.")
    spot = grading_queue.place(submission)
    if spot is None:
        return ""
    if spot.estimate_s is None:
        return _("Position %(n)d in the grading queue.", n=spot.position)
    if spot.estimate_s < 90:
        return _(
            "Position %(n)d in the grading queue: result in about %(s)d s.", n=spot.position, s=round(spot.estimate_s)
        )
    return _(
        "Position %(n)d in the grading queue: result in about %(m)d min.",
        n=spot.position,
        m=round(spot.estimate_s / 60),
    )


bp.add_app_template_global(queue_note)


def hand_in_question(missing: list[str]) -> str:
    """What the browser asks before handing in, naming the tasks that have no submission yet."""
    question = _("Hand in now? You cannot submit anything afterwards.")
    if missing:
        question += "\n" + _("No submission yet for: %(tasks)s", tasks=", ".join(missing))
    return question


@bp.get("/")
@public
def index():
    """The practical exams and, for signed-in candidates, whether each can be started."""
    exams = attempts.live_exams()
    decisions = {e.id: attempts.can_start(current_user, e) for e in exams} if current_user.is_authenticated else {}
    return render_template("exams/index.html", exams=exams, decisions=decisions)


@bp.get("/<slug>/")
@login_required
def exam(slug: str):
    """Instructions, tasks, rules of the attempts, and the candidate's history."""
    exam_row = _exam_or_404(slug)
    return render_template(
        "exams/exam.html",
        exam=exam_row,
        tasks=attempts.live_tasks(exam_row),
        history=attempts.attempts_of(current_user, exam_row),
        decision=attempts.can_start(current_user, exam_row),
        course=attempts.course_for(exam_row),
        form=ActionForm(),
    )


@bp.post("/<slug>/start")
@login_required
def start(slug: str):
    """Start a timed attempt."""
    exam_row = _exam_or_404(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        attempt = attempts.start(current_user, exam_row)
    except attempts.AttemptError as exc:
        flash(str(exc), "error")
        return redirect(url_for("exams.exam", slug=slug))
    return redirect(url_for("exams.attempt", slug=slug, attempt_id=attempt.id))


@bp.get("/<slug>/attempts/<int:attempt_id>/")
@login_required
def attempt(slug: str, attempt_id: int):
    """The attempt: time left, every task's best result, and the score once graded."""
    exam_row = _exam_or_404(slug)
    attempt_row = attempts.close_if_expired(_own_attempt_or_404(exam_row, attempt_id))
    tasks = attempts.live_tasks(exam_row)
    missing = [task_title(t) for t in attempts.unsubmitted_tasks(attempt_row)]
    return render_template(
        "exams/attempt.html",
        exam=exam_row,
        attempt=attempt_row,
        tasks=tasks,
        latest={t.id: attempts.latest_submission(attempt_row, t) for t in tasks},
        best={t.id: attempts.task_score(attempt_row, t) for t in tasks},
        decision=attempts.can_start(current_user, exam_row),
        reviews=review.reviews_of(attempt_row),
        certificate=db.session.scalar(db.select(Certificate).where(Certificate.attempt_id == attempt_row.id)),
        now=utcnow(),
        form=HandInForm(),
        hand_in_question=hand_in_question(missing),
        unsubmitted=missing,
    )


@bp.post("/<slug>/attempts/<int:attempt_id>/finish")
@login_required
def finish(slug: str, attempt_id: int):
    """Hand in: no more submissions; the score follows when every grade is in."""
    exam_row = _exam_or_404(slug)
    attempt_row = attempts.close_if_expired(
        _own_attempt_or_404(exam_row, attempt_id)
    )  # the clock may have handed it in
    form = HandInForm()
    if form.validate_on_submit() and attempt_row.status is AttemptStatus.IN_PROGRESS:
        if form.confirmed.data != "yes":  # no answer to the question yet (a browser without JavaScript)
            missing = [task_title(t) for t in attempts.unsubmitted_tasks(attempt_row)]
            return render_template(
                "exams/hand_in.html", exam=exam_row, attempt=attempt_row, unsubmitted=missing, form=form
            )
        attempts.finish(attempt_row, actor=current_user)
        flash(_("Your attempt is handed in."), "success")
    return redirect(url_for("exams.attempt", slug=slug, attempt_id=attempt_id))


@bp.route("/<slug>/attempts/<int:attempt_id>/<task>/", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["SUBMIT_RATE_LIMIT"], methods=["POST"])
def task(slug: str, attempt_id: int, task: str):
    """One task: the prompt, an editor with the starter code, file upload, and the graded submissions."""
    exam_row = _exam_or_404(slug)
    attempt_row = attempts.close_if_expired(_own_attempt_or_404(exam_row, attempt_id))
    task_row = _task_or_404(exam_row, task)
    document = source_suffix(task_row.kind) == ".md"
    form = DocumentForm() if document else SubmissionForm()
    status = 200
    if form.validate_on_submit():
        code = form.code.data or ""
        if form.upload.data:
            try:
                code = form.upload.data.read().decode("utf-8")
            except UnicodeDecodeError:
                code = None
                form.upload.errors.append(_("The file is not UTF-8 text."))
        if code is not None:
            try:
                submitted = grading.submit(current_user, attempt_row, task_row, code)
            except attempts.AttemptError as exc:
                form.code.errors.append(str(exc))
            else:
                submission = submitted.submission
                if not submitted.sent:  # the broker is down: the outbox keeps the message
                    flash(_("Your submission is received. Grading will start shortly."), "info")
                elif _sandbox_preparing() is not None:  # it waits in the queue for the image
                    flash(_("Your submission is received. Grading starts as soon as the sandbox is ready."), "info")
                return redirect(
                    url_for("exams.task", slug=slug, attempt_id=attempt_id, task=task) + f"#s{submission.id}"
                )
        status = 422
    elif form.errors:
        status = 422
    submissions = [s for s in reversed(attempt_row.submissions) if s.task_id == task_row.id]
    if not form.code.data:
        form.code.data = submissions[0].code if submissions else task_row.starter
    return render_template(
        "exams/task.html",
        exam=exam_row,
        attempt=attempt_row,
        task=task_row,
        prompt=prompt_html(task_row),
        submissions=submissions,
        submitted_code=code_html(submissions[0].code, "code") if submissions else None,
        draft_key=f"certplatform:draft:{attempt_row.id}:{task_row.slug}",
        language="markdown" if document else "python",
        now=utcnow(),
        used=attempts.counted_submissions(attempt_row, task_row),
        cap=current_app.config["SUBMISSIONS_PER_TASK"],
        open=attempts.is_open(attempt_row),
        form=form,
    ), status


@bp.get("/<slug>/attempts/<int:attempt_id>/submissions/<int:submission_id>")
@login_required
@limiter.exempt
def submission_status(slug: str, attempt_id: int, submission_id: int):
    """Live status of one of the candidate's own submissions (polled by the task page)."""
    exam_row = _exam_or_404(slug)
    attempt_row = _own_attempt_or_404(exam_row, attempt_id)
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.attempt_id != attempt_row.id:
        abort(404)
    return jsonify(submission_json(submission))
