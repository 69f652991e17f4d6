"""Class lists: filling a cohort from an uploaded CSV, with a report of what each row does before it is applied.

A class list is validated into a `CohortUpload` that records what applying each row would do; applying it later
re-checks every row against the database, so applying twice (or uploading the same file again) changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from certplatform.extensions import db
from certplatform.models import (
    Cohort,
    CohortMember,
    CohortUpload,
    Role,
    UploadStatus,
    User,
    UserRole,
)
from certplatform.models.types import utcnow
from certplatform.services import audit, mailer, outbox
from certplatform.services.accounts import INVITATION, email_message, email_problem, make_reset_token, normalise_email
from certplatform.services.cohorts import CohortError
from certplatform.urls import public_url

MAX_ROWS = 5_000
MAX_BYTES = 2 * 1024 * 1024
REQUIRED_COLUMNS = ("email", "name")
COLUMNS = (*REQUIRED_COLUMNS, "student_id")
MAX_NAME = 120  # users.name_latin
MAX_STUDENT_ID = 64
_EMAIL_CHUNK = 500  # emails per IN list: well under SQLite's limit on bound parameters

# What applying a row does (or did); stored in CohortUpload.rows.
CREATED, ALREADY_ENROLLED, INVITED, ERROR = "created", "already_enrolled", "invited", "error"
OUTCOMES = (CREATED, INVITED, ALREADY_ENROLLED, ERROR)


# --- messages -------------------------------------------------------------------------------------------
# A report is read later, maybe by someone who reads the other language: its messages are stored as a code with
# arguments and worded when shown, in the reader's language.

Message = dict[str, Any]  # {"code": ..., "args": {...}}

MESSAGES = {
    "too_large": lambda: _("The file is larger than 2 MB. Split the class list into several files."),
    "not_utf8": lambda: _("The file is not UTF-8 text. Save the class list as “CSV UTF-8” and upload it again."),
    "not_csv": lambda: _("This is not a CSV file."),
    "empty": lambda: _("The file is empty: the first line must name the columns email, name, student_id."),
    "columns": lambda found: _(
        "The first line must name the columns email and name (student_id is optional); found: %(found)s.",
        found=found,
    ),
    "too_many_rows": lambda max: _(
        "The file has more than %(max)d rows. Split the class list into several files.", max=max
    ),
    "bad_csv": lambda line: _("This is not a valid CSV file (line %(line)d).", line=line),
    "no_rows": lambda: _("The file names its columns but has no rows."),
    "extra_fields": lambda: _("This row has more fields than the first line names."),
    "email_missing": lambda: _("The email is missing."),
    "email_invalid": lambda why: email_message(why),
    "name_missing": lambda: _("The name is missing."),
    "name_too_long": lambda n: _("The name is longer than %(n)d characters.", n=n),
    "student_id_too_long": lambda n: _("The student ID is longer than %(n)d characters.", n=n),
    "duplicate": lambda lines: _("This email appears more than once in the file (lines %(lines)s).", lines=lines),
    "deactivated": lambda: _("This account is deactivated."),
}


def message(code: str, **args: Any) -> Message:
    return {"code": code, "args": args}


def describe(stored: Message | str | None) -> str:
    """A stored message in the reader's language (reports written before messages had codes are shown as stored)."""
    if stored is None:
        return ""
    if isinstance(stored, str):
        try:
            stored = json.loads(stored) if stored.startswith("{") else stored
        except ValueError:
            return stored
        if isinstance(stored, str):
            return stored
    render = MESSAGES.get(stored.get("code", ""))
    return render(**stored.get("args", {})) if render else str(stored)


class ClassListError(ValueError):
    """The uploaded file as a whole is unusable (not UTF-8, not CSV, wrong columns, too large): nothing applies."""

    def __init__(self, code: str, **args: Any) -> None:
        self.message = message(code, **args)
        super().__init__(describe(self.message))


# --- class lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassListRow:
    line: int
    email: str
    name: str
    student_id: str | None
    error: Message | None = None


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def parse_class_list(data: bytes) -> list[ClassListRow]:
    """Every row of a CSV class list with its own problems; raises ClassListError when the file is unusable."""
    if len(data) > MAX_BYTES:
        raise ClassListError("too_large")
    try:
        text = data.decode("utf-8-sig")  # with or without a byte-order mark
    except UnicodeDecodeError as exc:
        raise ClassListError("not_utf8") from exc
    if "\x00" in text:
        raise ClassListError("not_csv")
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ClassListError("empty")
        columns = [_column(h) for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        unknown = [h for h, c in zip(header, columns, strict=True) if c not in COLUMNS]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if missing or unknown or repeated:
            raise ClassListError("columns", found=", ".join(header))
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines
            if len(rows) == MAX_ROWS:
                raise ClassListError("too_many_rows", max=MAX_ROWS)
            rows.append(_row(reader.line_num, columns, record))
    except csv.Error as exc:
        raise ClassListError("bad_csv", line=reader.line_num) from exc
    if not rows:
        raise ClassListError("no_rows")
    return _mark_duplicates(rows)


def _row(line: int, columns: list[str], record: list[str]) -> ClassListRow:
    values = dict(zip(columns, (cell.strip() for cell in record), strict=False))
    raw_email, name, student_id = values.get("email", ""), values.get("name", ""), values.get("student_id") or None
    error = None
    email = raw_email
    if len(record) > len(columns):
        error = message("extra_fields")
    elif not raw_email:
        error = message("email_missing")
    else:
        why = email_problem(raw_email)
        if why is not None:
            error = message("email_invalid", why=why)
        else:
            email = normalise_email(raw_email)
    if error is None and not name:
        error = message("name_missing")
    elif error is None and len(name) > MAX_NAME:
        error = message("name_too_long", n=MAX_NAME)
    elif error is None and student_id and len(student_id) > MAX_STUDENT_ID:
        error = message("student_id_too_long", n=MAX_STUDENT_ID)
    return ClassListRow(line, email, name, student_id, error)


def _mark_duplicates(rows: list[ClassListRow]) -> list[ClassListRow]:
    """Every line of an email that appears more than once is an error: which of them is right is not ours to guess."""
    lines: dict[str, list[int]] = {}
    for row in rows:
        if row.error is None:
            lines.setdefault(row.email, []).append(row.line)
    out = []
    for row in rows:
        seen = lines.get(row.email, []) if row.error is None else []
        if len(seen) > 1:
            listed = ", ".join(str(n) for n in seen)
            row = ClassListRow(
                row.line,
                row.email,
                row.name,
                row.student_id,
                message("duplicate", lines=listed),
            )
        out.append(row)
    return out


def _existing_users(emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for i in range(0, len(emails), _EMAIL_CHUNK):
        chunk = emails[i : i + _EMAIL_CHUNK]
        found.update((u.email, u) for u in db.session.scalars(sa.select(User).where(User.email.in_(chunk))))
    return found


def _outcomes(cohort: Cohort, rows: list[ClassListRow]) -> tuple[list[dict[str, Any]], dict[str, User]]:
    """What applying each row would do now, and the existing accounts the rows name."""
    users = _existing_users([r.email for r in rows if r.error is None])
    enrolled = set(db.session.scalars(sa.select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id)))
    report = []
    for row in rows:
        user = users.get(row.email) if row.error is None else None
        reason = row.error
        if reason is not None:
            outcome = ERROR
        elif user is None:
            outcome = INVITED
        elif user.id in enrolled:
            outcome = ALREADY_ENROLLED
        elif not user.active:
            outcome, reason = ERROR, message("deactivated")
        else:
            outcome = CREATED
        report.append(
            {
                "line": row.line,
                "email": row.email,
                "name": row.name,
                "student_id": row.student_id,
                "outcome": outcome,
                "reason": reason,
            }
        )
    return report, users


def validate_upload(actor: User, cohort: Cohort, filename: str, data: bytes) -> CohortUpload:
    """Check a class list and store the per-row report (or the reason the file is rejected); applies nothing."""
    upload = CohortUpload(
        cohort_id=cohort.id,
        uploaded_by_id=actor.id,
        filename=(filename or "class-list.csv")[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        rows=[],
    )
    try:
        rows = parse_class_list(data)
    except ClassListError as exc:
        upload.status, upload.error = UploadStatus.REJECTED, json.dumps(exc.message)
    else:
        upload.status = UploadStatus.VALIDATED
        upload.rows, _users = _outcomes(cohort, rows)
    db.session.add(upload)
    db.session.commit()
    return upload


def counts(upload: CohortUpload) -> dict[str, int]:
    tally = dict.fromkeys(OUTCOMES, 0)
    for row in upload.rows:
        tally[row["outcome"]] += 1
    return tally


def apply_upload(actor: User, upload: CohortUpload) -> CohortUpload:
    """Enrol every row without an error, inviting unknown emails; a second call changes nothing."""
    # Locked and re-read: a concurrent apply that committed first leaves this one nothing to do.
    upload = db.session.scalar(
        sa.select(CohortUpload)
        .where(CohortUpload.id == upload.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if upload.status == UploadStatus.APPLIED:
        return upload
    if upload.status == UploadStatus.REJECTED:
        raise CohortError(_("This file was rejected; nothing can be applied from it."))
    cohort = db.session.get(Cohort, upload.cohort_id)
    # Rows reported as errors stay errors (never apply more than the report showed); the others are checked
    # again, since accounts may have registered or been enrolled since the file was validated.
    rows = [
        ClassListRow(r["line"], r["email"], r["name"], r["student_id"], r["reason"] if r["outcome"] == ERROR else None)
        for r in upload.rows
    ]
    report, users = _outcomes(cohort, rows)
    new_users = []
    for row in report:
        if row["outcome"] == INVITED:
            user = User(
                email=row["email"],
                name_latin=row["name"],
                # Not a hash any password can match: the invitation link is the only way in.
                password_hash="!" + secrets.token_hex(32),
                roles=[UserRole(role=Role.STUDENT)],
            )
            users[row["email"]] = user
            new_users.append(user)
    db.session.add_all(new_users)
    db.session.flush()
    db.session.add_all(
        CohortMember(cohort_id=cohort.id, user_id=users[row["email"]].id, student_id=row["student_id"])
        for row in report
        if row["outcome"] in {CREATED, INVITED}
    )
    upload.rows = report
    upload.status = UploadStatus.APPLIED
    upload.applied_at = utcnow()
    tally = counts(upload)
    audit.record(actor, "cohort.upload_apply", "cohort", cohort.id, upload_id=upload.id, **tally)
    for user in new_users:  # the invitations are stored with the accounts they invite
        send_invitation(user, cohort)
    try:
        db.session.commit()
    except IntegrityError as exc:  # another apply enrolled the same students meanwhile
        db.session.rollback()
        raise CohortError(_("The class list changed while it was being applied. Upload it again.")) from exc
    outbox.flush()
    return upload


def send_invitation(user: User, cohort: Cohort) -> None:
    """Stage the mail giving a new account its set-password link (the reset link), in the recipient's language."""
    link = public_url("auth.reset_password", token=make_reset_token(user, INVITATION))
    with force_locale(mailer.recipient_locale(user)):
        subject = _("You are invited to FlagOS Certification: %(cohort)s", cohort=cohort.name)
        body = render_template(
            "email/cohort_invitation.txt",
            user=user,
            cohort=cohort,
            link=link,
            reset_url=public_url("auth.reset_request"),
        )
    mailer.stage_mail(user.email, subject, body)
