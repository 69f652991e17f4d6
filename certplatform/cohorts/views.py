"""University cohorts: create them, fill them from a class list, follow every student; students see their own."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from certplatform.authz import login_required, role_required
from certplatform.cohorts import bp, table
from certplatform.cohorts.access import can_manage, cohort_to_manage, cohort_to_view
from certplatform.cohorts.forms import CohortForm, UploadForm
from certplatform.extensions import db
from certplatform.forms import ActionForm
from certplatform.i18n import current_lang
from certplatform.models import CohortUpload, Role, UploadStatus
from certplatform.request_guards import page_arg
from certplatform.services import class_lists, cohort_dashboard, cohorts

managers = role_required(Role.UNIVERSITY_ADMIN, Role.ADMIN)
# The whole request, not just the file: a class list a little over its 2 MB limit still reaches the service,
# which records why it was refused; anything larger is answered by `too_large` below.
UPLOAD_REQUEST_LIMIT = 2 * class_lists.MAX_BYTES


@bp.url_value_preprocessor
def raise_upload_limit(endpoint: str | None, values: dict | None) -> None:
    # Runs before the CSRF check, which is the first to parse the form (and so to enforce the size limit).
    if endpoint == "cohorts.upload":
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@bp.errorhandler(413)
def too_large(error):
    return render_template(
        "error.html",
        code=413,
        title=_("Upload too large"),
        message=_(
            "A class list may have at most %(rows)d rows and 2 MB. Split it into several files.",
            rows=class_lists.MAX_ROWS,
        ),
    ), 413


bp.add_app_template_global(class_lists.describe, "class_list_message")  # stored report messages, worded when read


@bp.context_processor
def dashboard_labels() -> dict[str, object]:
    return {
        "filters": cohort_dashboard.FILTERS,
        "stages": cohort_dashboard.STAGES,
        "review_states": cohort_dashboard.REVIEW_STATES,
        "attempt_states": cohort_dashboard.ATTEMPT_STATES,
        "cert_states": cohort_dashboard.CERT_STATES,
    }


def _upload_or_404(cohort_id: int, upload_id: int):
    cohort = cohort_to_manage(cohort_id)
    upload = db.session.get(CohortUpload, upload_id)
    if upload is None or upload.cohort_id != cohort.id:
        abort(404)
    return cohort, upload


def _table_args() -> dict[str, object]:
    status = request.args.get("status", "")
    sort = request.args.get("sort", "name")
    return {
        "status": status if status in cohort_dashboard.FILTERS else "",
        "query": request.args.get("q", "")[:100],
        "sort": sort if sort in table.SORTS else "name",
        "descending": request.args.get("dir") == "desc",
    }


@bp.get("/")
@managers
def index():
    """The cohorts of the universities the user manages."""
    return render_template(
        "cohorts/index.html",
        cohorts=cohorts.managed_cohorts(current_user),
        can_create=bool(cohorts.managed_organizations(current_user)),
    )


@bp.route("/new", methods=["GET", "POST"])
@managers
def new():
    """Create a cohort for one of the user's universities."""
    organizations = cohorts.managed_organizations(current_user)
    form = CohortForm()
    form.organization.choices = [SelectChoice(o.id, o.name) for o in organizations]
    if organizations and form.validate_on_submit():
        try:
            cohort = cohorts.create_cohort(
                current_user,
                form.organization.data,
                form.name.data,
                form.term.data,
                form.levels.data,
                form.starts_on.data,
                form.ends_on.data,
                form.instructors.data,
            )
        except cohorts.CohortError as exc:
            form[exc.field or "name"].errors.append(str(exc))
        else:
            flash(_("The cohort %(name)s is ready. Upload its class list next.", name=cohort.name), "success")
            return redirect(url_for("cohorts.upload", cohort_id=cohort.id))
    return render_template("cohorts/new.html", form=form, organizations=organizations), 200 if not form.errors else 422


@bp.get("/<int:cohort_id>/")
@login_required
def dashboard(cohort_id: int):
    """Every student's progress, quizzes, exam, review and certificate, with a summary (instructors: read-only)."""
    cohort = cohort_to_view(cohort_id)
    data = cohort_dashboard.build(cohort)
    args = _table_args()
    page = table.paginate(table.select(data, **args), page_arg())
    return render_template(
        "cohorts/dashboard.html",
        cohort=cohort,
        dashboard=data,
        page=page,
        args=args,
        manage=can_manage(current_user, cohort),
        form=ActionForm(),
    )


@bp.get("/<int:cohort_id>/export.csv")
@login_required
def export(cohort_id: int):
    """The dashboard's rows (with its filters and order) as a spreadsheet-safe CSV file."""
    cohort = cohort_to_view(cohort_id)
    data = cohort_dashboard.build(cohort)
    body = table.export_csv(data, table.select(data, **_table_args()), current_lang())
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="cohort-{cohort.id}.csv"'}
    )


@bp.route("/<int:cohort_id>/upload", methods=["GET", "POST"])
@managers
def upload(cohort_id: int):
    """Upload a class list; it is checked and reported on, and applied only when confirmed."""
    cohort = cohort_to_manage(cohort_id)
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(class_lists.MAX_BYTES + 1)
        result = class_lists.validate_upload(current_user, cohort, form.file.data.filename, data)
        if result.status == UploadStatus.VALIDATED:
            return redirect(url_for("cohorts.upload_report", cohort_id=cohort.id, upload_id=result.id))
        form.file.errors.append(class_lists.describe(result.error))
    return render_template(
        "cohorts/upload.html",
        cohort=cohort,
        form=form,
        uploads=cohorts.uploads_of(cohort),
        max_rows=class_lists.MAX_ROWS,
        manage=True,
    ), 200 if not form.errors else 422


@bp.get("/<int:cohort_id>/uploads/<int:upload_id>/")
@managers
def upload_report(cohort_id: int, upload_id: int):
    """What applying a class list does (or did) to each of its rows."""
    cohort, upload_row = _upload_or_404(cohort_id, upload_id)
    return render_template(
        "cohorts/report.html",
        cohort=cohort,
        upload=upload_row,
        counts=class_lists.counts(upload_row),
        form=ActionForm(),
        manage=True,
    )


@bp.post("/<int:cohort_id>/uploads/<int:upload_id>/apply")
@managers
def apply(cohort_id: int, upload_id: int):
    """Enrol the rows without errors and invite unknown emails; applying again changes nothing."""
    cohort, upload_row = _upload_or_404(cohort_id, upload_id)
    if ActionForm().validate_on_submit():
        try:
            upload_row = class_lists.apply_upload(current_user, upload_row)
        except cohorts.CohortError as exc:
            flash(str(exc), "error")
        else:
            tally = class_lists.counts(upload_row)
            flash(
                _(
                    "Applied: %(created)d enrolled, %(invited)d invited, %(skipped)d rows with errors skipped.",
                    created=tally[class_lists.CREATED],
                    invited=tally[class_lists.INVITED],
                    skipped=tally[class_lists.ERROR],
                ),
                "success",
            )
    return redirect(url_for("cohorts.upload_report", cohort_id=cohort.id, upload_id=upload_row.id))


@bp.post("/<int:cohort_id>/members/<int:user_id>/remove")
@managers
def remove(cohort_id: int, user_id: int):
    """Take a student out of the cohort (their account and learning stay)."""
    cohort = cohort_to_manage(cohort_id)
    if ActionForm().validate_on_submit():
        if cohorts.remove_member(current_user, cohort, user_id):
            flash(_("The student was removed from the cohort."), "success")
        else:
            abort(404)
    return redirect(url_for("cohorts.dashboard", cohort_id=cohort.id))


@bp.get("/mine")
@login_required
def mine():
    """The cohorts the user is enrolled in, and those they teach."""
    return render_template(
        "cohorts/mine.html",
        memberships=cohorts.memberships_of(current_user),
        teaching=cohorts.taught_cohorts(current_user),
        form=ActionForm(),
    )


@bp.post("/<int:cohort_id>/leave")
@login_required
def leave(cohort_id: int):
    """Leave a cohort the user is enrolled in."""
    membership = cohorts.membership(current_user, cohort_id)
    if membership is None:
        abort(404)
    if ActionForm().validate_on_submit():
        cohorts.remove_member(current_user, membership.cohort, current_user.id)
        flash(_("You left the cohort %(name)s.", name=membership.cohort.name), "success")
    return redirect(url_for("cohorts.mine"))
