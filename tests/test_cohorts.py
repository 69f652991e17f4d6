"""Cohorts: creating them, class lists (parsing, report, idempotent apply, invitations), isolation, leaving."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from certplatform import create_app
from certplatform.extensions import db
from certplatform.models import (
    AuditEvent,
    Cohort,
    CohortMember,
    CohortUpload,
    OrganizationKind,
    Role,
    UploadStatus,
    User,
)
from certplatform.services import accounts, class_lists, cohorts
from certplatform.services.class_lists import ClassListError, parse_class_list
from tests.conftest import csrf_token, outbox, post_form
from tests.factories import make_org, make_user


@pytest.fixture(scope="module")
def plain_app():
    """An application context without a database, for the pure parsing tests (run once, not per backend)."""
    app = create_app({"ENV_NAME": "test"})
    with app.test_request_context():
        yield app


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + ("\n".join(lines) + "\n").encode("utf-8")


def new_cohort(org, admin, name: str = "Parallel Computing 2026", instructors: str = "") -> Cohort:
    return cohorts.create_cohort(
        admin, org.id, name, "Spring 2026", ["L1"], date(2026, 3, 1), date(2026, 7, 1), instructors
    )


@pytest.fixture
def uni(app):
    admin = make_user(Role.UNIVERSITY_ADMIN, email="registrar@uni.example")
    org = make_org(OrganizationKind.UNIVERSITY, name="Tsinghua Demo", members=(admin,))
    return org, admin


def upload(client, cohort_id: int, data: bytes, filename: str = "class.csv"):
    """POST a class list as a browser would, from a multipart body built here.

    (Given a large file, the test client spools the body to a temporary file that it never closes.)
    """
    boundary = "cohort-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token(client)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post(
        f"/cohorts/{cohort_id}/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def members(cohort: Cohort) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(User.email)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id)
        )
    )


# --- parsing class lists (no database) -----------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True])
def test_parse_with_or_without_bom_and_loose_header(plain_app, bom: bool) -> None:
    rows = parse_class_list(csv_bytes("Email, Name ,Student ID", "Li.Wei@Example.COM,Li Wei,2026001", bom=bom))
    assert [(r.line, r.email, r.name, r.student_id, r.error) for r in rows] == [
        (2, "li.wei@example.com", "Li Wei", "2026001", None)
    ]


def test_parse_accepts_semicolons_quotes_blank_lines_and_chinese(plain_app) -> None:
    rows = parse_class_list(csv_bytes("email;name", "", 'wang@example.com;"Wang; Lei"', "zhang@example.com;张伟"))
    assert [(r.line, r.name) for r in rows] == [(3, "Wang; Lei"), (4, "张伟")]


def test_parse_reports_every_bad_row_with_its_reason(plain_app) -> None:
    rows = parse_class_list(
        csv_bytes(
            "email,name,student_id",
            "ok@example.com,Good Row,",
            "not-an-email,No At Sign,",
            "someone@localhost,No Domain,",
            ",Missing Email,",
            "noname@example.com,,",
            "extra@example.com,Extra,1,surplus",
            f"long@example.com,Long,{'9' * 65}",
        )
    )
    errors = {r.line: class_lists.describe(r.error) or None for r in rows}
    assert errors[2] is None
    assert "not a valid email" in errors[3] and "not a valid email" in errors[4]
    assert errors[5] == "The email is missing."
    assert errors[6] == "The name is missing."
    assert "more fields" in errors[7]
    assert "student ID is longer" in errors[8]


def test_parse_reports_every_line_of_a_duplicate_email(plain_app) -> None:
    rows = parse_class_list(
        csv_bytes(
            "email,name",
            "dup@example.com,First",
            "unique@example.com,Unique",
            "DUP@example.com,Second",
            "dup@EXAMPLE.com,Third",
        )
    )
    errors = {r.line: class_lists.describe(r.error) or None for r in rows}
    assert errors[3] is None
    for line in (2, 4, 5):
        assert errors[line] == "This email appears more than once in the file (lines 2, 4, 5)."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (csv_bytes("email,name"), "has no rows"),
        (csv_bytes("mail,fullname", "a@example.com,A"), "must name the columns email and name"),
        (csv_bytes("email", "a@example.com"), "must name the columns email and name"),
        (csv_bytes("email,name,phone", "a@example.com,A,1"), "found: email, name, phone"),
        (csv_bytes("email,name,email", "a@example.com,A,b@example.com"), "must name the columns"),
        ("email,name\nwei@example.com,Léa\n".encode("latin-1"), "not UTF-8"),
        ("email,name\n".encode("utf-16"), "not UTF-8"),
        (b"email,name\n\x00\x01,\x00", "not a CSV file"),
        (b'email,name\n"a@example.com,unterminated\n', "not a valid CSV file"),
    ],
)
def test_parse_rejects_malformed_files(plain_app, data: bytes, message: str) -> None:
    with pytest.raises(ClassListError, match=re.escape(message)):
        parse_class_list(data)


def test_parse_limits_rows_and_size(plain_app) -> None:
    lines = [f"s{i}@example.com,Student {i}" for i in range(class_lists.MAX_ROWS)]
    assert len(parse_class_list(csv_bytes("email,name", *lines))) == class_lists.MAX_ROWS
    with pytest.raises(ClassListError, match="more than 5000 rows"):
        parse_class_list(csv_bytes("email,name", *lines, "one@example.com,Too Many"))
    with pytest.raises(ClassListError, match="larger than 2 MB"):
        parse_class_list(b"email,name\n" + b"x" * class_lists.MAX_BYTES)


# --- creating cohorts ----------------------------------------------------------------------------------


def test_university_admin_creates_a_cohort(client, auth, uni) -> None:
    org, admin = uni
    teacher = make_user(Role.MENTOR, email="teacher@uni.example")
    auth.login(admin.email)
    response = post_form(
        client,
        "/cohorts/new",
        {
            "organization": org.id,
            "name": "Parallel Computing 2026",
            "term": "Spring 2026",
            "levels": ["L1", "L2"],
            "starts_on": "2026-03-01",
            "ends_on": "2026-07-01",
            "instructors": "Teacher@Uni.Example",
        },
    )
    cohort = db.session.scalar(sa.select(Cohort))
    assert response.status_code == 302 and response.location == f"/cohorts/{cohort.id}/upload"
    assert cohort.organization_id == org.id and cohort.target_levels == ["L1", "L2"]
    assert [i.id for i in cohort.instructors] == [teacher.id]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "cohort.create"))
    assert event.actor_id == admin.id and event.target_id == str(cohort.id)
    assert "Parallel Computing 2026" in client.get("/cohorts/").get_data(as_text=True)


def test_cohort_form_refuses_unknown_instructors_bad_dates_and_foreign_universities(client, auth, uni) -> None:
    org, admin = uni
    other = make_org(OrganizationKind.UNIVERSITY, name="Other Uni")
    auth.login(admin.email)
    base = {"organization": org.id, "name": "C", "term": "T", "levels": "L1", "starts_on": "2026-03-01"}
    cases = [
        ({"ends_on": "2026-07-01", "instructors": "nobody@uni.example"}, "No account uses these addresses"),
        ({"ends_on": "2026-01-01"}, "cannot end before it starts"),
        ({"ends_on": "2026-07-01", "organization": other.id}, "Choose one of your universities"),
    ]
    for extra, message in cases:
        response = post_form(client, "/cohorts/new", {**base, **extra})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Cohort.id))) == 0


def test_a_university_admin_outside_any_university_cannot_create(client, auth) -> None:
    lonely = make_user(Role.UNIVERSITY_ADMIN, email="lonely@uni.example")
    auth.login(lonely.email)
    page = client.get("/cohorts/new")
    assert page.status_code == 200 and "You do not belong to a university yet" in page.get_data(as_text=True)
    assert client.get("/cohorts/").status_code == 200


# --- class lists over HTTP: report, apply, idempotence, invitations -------------------------------------

CLASS_LIST = csv_bytes(
    "email,name,student_id",
    "enrolled@uni.example,Already Here,1",
    "known@uni.example,Known Student,2",
    "New.Student@Uni.Example,New Student,3",
    "broken-address,Bad Email,4",
    "twice@uni.example,Twice One,5",
    "twice@uni.example,Twice Two,6",
    bom=True,
)


def test_upload_reports_then_applies_once(app, client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    enrolled = make_user(email="enrolled@uni.example")
    make_user(email="known@uni.example")
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=enrolled.id))
    db.session.commit()
    auth.login(admin.email)

    response = upload(client, cohort.id, CLASS_LIST)
    record = db.session.scalar(sa.select(CohortUpload))
    assert response.status_code == 302 and response.location == f"/cohorts/{cohort.id}/uploads/{record.id}/"
    assert record.status == UploadStatus.VALIDATED
    assert [(r["line"], r["outcome"]) for r in record.rows] == [
        (2, "already_enrolled"),
        (3, "created"),
        (4, "invited"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
    ]
    report = client.get(response.location).get_data(as_text=True)
    assert "lines 6, 7" in report and "not a valid email" in report and "Apply the class list" in report
    assert members(cohort) == {"enrolled@uni.example"}, "validating applies nothing"
    assert db.session.scalar(sa.select(User.id).where(User.email == "new.student@uni.example")) is None

    applied = post_form(client, f"/cohorts/{cohort.id}/uploads/{record.id}/apply")
    assert applied.status_code == 302
    assert members(cohort) == {"enrolled@uni.example", "known@uni.example", "new.student@uni.example"}
    new = db.session.scalar(sa.select(User).where(User.email == "new.student@uni.example"))
    assert new.name_latin == "New Student" and new.role_set == {Role.STUDENT}
    assert db.session.scalar(sa.select(CohortMember.student_id).where(CohortMember.user_id == new.id)) == "3"
    assert new.password_hash.startswith("!") and accounts.authenticate(new.email, new.password_hash) is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "cohort.upload_apply"))
    assert event.details["upload_id"] == record.id and event.details["invited"] == 1
    assert event.details["created"] == 1 and event.details["error"] == 3

    mails = outbox(app)
    assert [m.to for m in mails] == [["new.student@uni.example"]]
    assert "Parallel Computing 2026" in mails[0].subject
    link = re.search(r"http://localhost(/auth/reset/\S+)", mails[0].body).group(1)
    assert "Tsinghua Demo" in mails[0].body
    assert client.get(link).status_code == 200, "the invitation opens the set-password page"

    # Applying again, or uploading and applying the same file again, changes nothing.
    users_before = db.session.scalar(sa.select(sa.func.count(User.id)))
    post_form(client, f"/cohorts/{cohort.id}/uploads/{record.id}/apply")
    again = upload(client, cohort.id, CLASS_LIST)
    second = db.session.scalar(sa.select(CohortUpload).order_by(CohortUpload.id.desc()))
    assert second.sha256 == record.sha256
    assert [r["outcome"] for r in second.rows] == ["already_enrolled"] * 3 + ["error"] * 3
    post_form(client, again.location + "apply")
    assert members(cohort) == {"enrolled@uni.example", "known@uni.example", "new.student@uni.example"}
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before
    assert len(outbox(app)) == 1


def test_fixed_rows_apply_on_the_next_upload(app, client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    auth.login(admin.email)
    first = csv_bytes("email,name", "a@uni.example,A", "b@uni,B", "c@uni.example,")
    post_form(client, upload(client, cohort.id, first).location + "apply")
    assert members(cohort) == {"a@uni.example"}
    fixed = csv_bytes("email,name", "a@uni.example,A", "b@uni.example,B", "c@uni.example,C")
    response = upload(client, cohort.id, fixed)
    post_form(client, response.location + "apply")
    assert members(cohort) == {"a@uni.example", "b@uni.example", "c@uni.example"}
    assert sorted(m.to[0] for m in outbox(app)) == ["a@uni.example", "b@uni.example", "c@uni.example"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_bytes("mail,fullname", "a@uni.example,A"), "must name the columns email and name"),
        ("email,name\na@uni.example,Léa\n".encode("latin-1"), "not UTF-8"),
        (csv_bytes("email,name", *[f"s{i}@uni.example,S" for i in range(5001)]), "more than 5000 rows"),
        (b"email,name\n" + b"a@uni.example,A\n" * 140_000, "larger than 2 MB"),
    ],
    ids=["columns", "encoding", "rows", "size"],
)
def test_malformed_upload_is_rejected_and_applies_nothing(client, auth, uni, data: bytes, message: str) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    auth.login(admin.email)
    response = upload(client, cohort.id, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    record = db.session.scalar(sa.select(CohortUpload))
    assert record.status == UploadStatus.REJECTED and record.rows == []
    assert message in class_lists.describe(record.error)
    post_form(client, f"/cohorts/{cohort.id}/uploads/{record.id}/apply")
    assert members(cohort) == set()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_a_far_too_large_upload_gets_a_clear_refusal(client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    auth.login(admin.email)
    response = upload(client, cohort.id, b"x" * (4 * class_lists.MAX_BYTES + 1))
    assert response.status_code == 413
    assert "at most 5000 rows and 2 MB" in response.get_data(as_text=True)


def test_upload_form_requires_a_file(client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    auth.login(admin.email)
    response = post_form(client, f"/cohorts/{cohort.id}/upload")
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)


# --- isolation -----------------------------------------------------------------------------------------


def test_university_admins_never_see_another_universitys_cohorts(client, auth, uni) -> None:
    org, admin = uni
    mine = new_cohort(org, admin, name="Our Cohort")
    rival_admin = make_user(Role.UNIVERSITY_ADMIN, email="rival@other.example")
    rival = make_org(OrganizationKind.UNIVERSITY, name="Rival Uni", members=(rival_admin,))
    theirs = new_cohort(rival, rival_admin, name="Their Secret Cohort")
    secret = make_user(email="secret-student@other.example")
    db.session.add(CohortMember(cohort_id=theirs.id, user_id=secret.id))
    db.session.commit()
    theirs_upload = class_lists.validate_upload(rival_admin, theirs, "x.csv", csv_bytes("email,name", "q@x.example,Q"))

    auth.login(admin.email)
    listing = client.get("/cohorts/").get_data(as_text=True)
    assert "Our Cohort" in listing and "Their Secret Cohort" not in listing
    base = f"/cohorts/{theirs.id}"
    for path in (f"{base}/", f"{base}/export.csv", f"{base}/upload", f"{base}/uploads/{theirs_upload.id}/"):
        response = client.get(path)
        assert response.status_code == 404, path
        body = response.get_data(as_text=True)
        assert "Their Secret Cohort" not in body and "secret-student" not in body
    for path in (
        f"{base}/upload",
        f"{base}/uploads/{theirs_upload.id}/apply",
        f"{base}/members/{secret.id}/remove",
        f"{base}/leave",
        # Another cohort's upload reached through one's own cohort id.
        f"/cohorts/{mine.id}/uploads/{theirs_upload.id}/apply",
    ):
        assert post_form(client, path).status_code == 404, path
    assert client.get(f"/cohorts/{mine.id}/uploads/{theirs_upload.id}/").status_code == 404
    assert client.get("/cohorts/999999/").status_code == 404
    assert members(theirs) == {"secret-student@other.example"}
    assert db.session.get(CohortUpload, theirs_upload.id).status == UploadStatus.VALIDATED


def test_roles_and_instructors(client, auth, uni) -> None:
    org, admin = uni
    teacher = make_user(Role.MENTOR, email="teacher@uni.example")
    cohort = new_cohort(org, admin, instructors=teacher.email)
    student = make_user(email="student@uni.example")
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=student.id))
    db.session.commit()

    auth.login(teacher.email)
    page = client.get(f"/cohorts/{cohort.id}/")
    assert page.status_code == 200 and "student@uni.example" in page.get_data(as_text=True)
    assert "Remove" not in page.get_data(as_text=True) and "Class lists" not in page.get_data(as_text=True)
    assert client.get(f"/cohorts/{cohort.id}/export.csv").status_code == 200
    assert client.get(f"/cohorts/{cohort.id}/upload").status_code == 403
    assert post_form(client, f"/cohorts/{cohort.id}/members/{student.id}/remove").status_code == 403
    assert "Parallel Computing 2026" in client.get("/cohorts/mine").get_data(as_text=True)
    auth.logout()

    auth.login(student.email)
    assert client.get("/cohorts/").status_code == 403
    assert client.get(f"/cohorts/{cohort.id}/").status_code == 404
    auth.logout()

    platform = make_user(Role.ADMIN, email="root@platform.example")
    auth.login(platform.email)
    assert "Parallel Computing 2026" in client.get("/cohorts/").get_data(as_text=True)
    assert client.get(f"/cohorts/{cohort.id}/upload").status_code == 200


# --- membership: removal and leaving ---------------------------------------------------------------------


def test_admin_removes_a_student(client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    student = make_user(email="student@uni.example")
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=student.id))
    db.session.commit()
    auth.login(admin.email)
    response = post_form(client, f"/cohorts/{cohort.id}/members/{student.id}/remove")
    assert response.status_code == 302 and members(cohort) == set()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "cohort.member_remove"))
    assert event.actor_id == admin.id and event.details == {"user_id": student.id}
    assert post_form(client, f"/cohorts/{cohort.id}/members/{student.id}/remove").status_code == 404
    assert db.session.get(User, student.id) is not None, "the account stays"


def test_students_see_their_cohorts_and_leave(client, auth, uni) -> None:
    org, admin = uni
    cohort = new_cohort(org, admin)
    other = new_cohort(org, admin, name="Not Mine")
    student = make_user(email="student@uni.example")
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=student.id, student_id="2026-17"))
    db.session.commit()
    auth.login(student.email)
    page = client.get("/cohorts/mine").get_data(as_text=True)
    assert "Parallel Computing 2026" in page and "2026-17" in page and "Not Mine" not in page
    assert post_form(client, f"/cohorts/{other.id}/leave").status_code == 404
    # Without the CSRF token nothing happens.
    assert client.post(f"/cohorts/{cohort.id}/leave").status_code == 400
    assert members(cohort) == {"student@uni.example"}
    response = post_form(client, f"/cohorts/{cohort.id}/leave")
    assert response.status_code == 302 and members(cohort) == set()
    assert "You left the cohort" in client.get("/cohorts/mine").get_data(as_text=True)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "cohort.leave"))
    assert event.actor_id == student.id
    assert post_form(client, f"/cohorts/{cohort.id}/leave").status_code == 404


def test_a_report_is_worded_in_the_readers_language(client, auth, uni) -> None:
    """Row errors are stored as codes: a report uploaded in English reads in Chinese for a Chinese reader."""
    org, admin = uni
    cohort = new_cohort(org, admin)
    auth.login(admin.email)
    upload(client, cohort.id, csv_bytes("email,name", "li-at-example.com,Li", ",No Mail", "ok@example.com,"))
    record = db.session.scalar(sa.select(CohortUpload))
    path = f"/cohorts/{cohort.id}/uploads/{record.id}/"
    english = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "This is not a valid email address: it has no @ sign" in english
    assert "The email is missing." in english and "The name is missing." in english
    chinese = client.get(path, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "缺少 @ 符号" in chinese
    for text in ("This is not a valid email", "The email is missing.", "The name is missing.", "@-sign"):
        assert text not in chinese
    upload(client, cohort.id, b"\xff\xfe not text")
    rejected = client.get(f"/cohorts/{cohort.id}/upload", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "UTF-8" in rejected and "The file is not UTF-8 text" not in rejected
