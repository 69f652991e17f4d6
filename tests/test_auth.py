import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from certplatform.extensions import db
from certplatform.models import AuditEvent, Role, User
from certplatform.services import accounts
from tests.conftest import csrf_token, outbox, post_form
from tests.factories import PASSWORD, make_user

GOOD = {
    "email": "New.Student@Example.COM",
    "name_latin": "Li Wei",
    "name_zh": "李伟",
    "password": "Triton-Kernels-2026",
    "confirm": "Triton-Kernels-2026",
}


# --- registration -------------------------------------------------------------------------------------


def test_register_creates_a_student_and_logs_in(client, app) -> None:
    response = post_form(client, "/auth/register", GOOD)
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    user = db.session.scalar(sa.select(User).where(User.email == "new.student@example.com"))
    assert user is not None, "email is stored normalised"
    assert user.role_set == {Role.STUDENT}
    assert user.password_hash != GOOD["password"] and user.password_hash.startswith("scrypt:")
    assert "Li Wei" in client.get("/dashboard").get_data(as_text=True)
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(user.id))) == "user.register"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-email"}, "not a valid email"),
        ({"email": "someone@localhost"}, "not a valid email"),
        ({"password": "short1A", "confirm": "short1A"}, "at least 10"),
        ({"password": "alllowercase123", "confirm": "alllowercase123"}, "upper- and lower-case"),
        ({"password": "NoDigitsAtAllHere", "confirm": "NoDigitsAtAllHere"}, "upper- and lower-case"),
        ({"password": "New.Student-Pass1", "confirm": "New.Student-Pass1"}, "name part of your email"),
        ({"confirm": "Something-Else-1"}, "Passwords differ"),
        ({"name_latin": ""}, "This field is required"),
    ],
)
def test_register_rejects_bad_input(client, change, message) -> None:
    response = post_form(client, "/auth/register", {**GOOD, **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_register_rejects_a_taken_email_in_any_case(client) -> None:
    make_user(email="new.student@example.com")
    response = post_form(client, "/auth/register", GOOD)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_register_keeps_the_entered_values_after_an_error(client) -> None:
    html = post_form(client, "/auth/register", {**GOOD, "confirm": "x"}).get_data(as_text=True)
    assert 'value="Li Wei"' in html and 'value="李伟"' in html
    assert GOOD["password"] not in html, "passwords are never echoed back"


# --- login / logout -----------------------------------------------------------------------------------


def test_login_and_logout(client, auth) -> None:
    user = make_user(email="ada@example.com")
    response = auth.login("ADA@example.com")
    assert response.status_code == 302 and response.location.endswith("/dashboard")
    assert db.session.get(User, user.id).last_login_at is not None
    assert client.get("/dashboard").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_login_failure_says_nothing_about_which_part_was_wrong(client, auth) -> None:
    make_user(email="ada@example.com")
    wrong_password = auth.login("ada@example.com", "Wrong-Password-1").get_data(as_text=True)
    unknown_email = auth.login("nobody@example.com").get_data(as_text=True)
    for html in (wrong_password, unknown_email):
        assert "Email or password is not correct." in html


def test_deactivated_user_cannot_log_in(auth) -> None:
    make_user(email="gone@example.com", active=False)
    assert auth.login("gone@example.com").status_code == 422


def test_login_redirects_only_to_local_next(client) -> None:
    make_user(email="ada@example.com")
    for target, expected in [
        ("/account/", "/account/"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/x", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
    ]:
        response = post_form(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD, "next": target})
        assert response.location == expected, target
        post_form(client, "/auth/logout")


def test_protected_page_sends_anonymous_visitors_to_login_with_next(client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login?next=")


def test_login_is_throttled(client, app) -> None:
    make_user(email="ada@example.com")
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    token = csrf_token(client)
    statuses = [
        client.post(
            "/auth/login", data={"csrf_token": token, "email": "ada@example.com", "password": "Bad-guess-1"}
        ).status_code
        for _ in range(limit)
    ]
    assert statuses == [422] * limit
    blocked = client.post("/auth/login", data={"csrf_token": token, "email": "ada@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many" in blocked.get_data(as_text=True)
    assert client.get("/auth/login").status_code == 200, "viewing the page is not counted"


def test_logout_needs_post_and_csrf(client, auth) -> None:
    make_user(email="ada@example.com")
    auth.login("ada@example.com")
    assert client.get("/auth/logout").status_code == 405
    client.post("/auth/logout")  # no token: refused
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/auth/reset", "/language"])
def test_forms_without_csrf_token_are_rejected(client, path) -> None:
    response = client.post(path, data={"email": "a@example.com", "password": "x", "locale": "zh_CN"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_admin_change_without_csrf_is_rejected(client, auth) -> None:
    admin = make_user(Role.ADMIN, email="root@example.com")
    target = make_user()
    auth.login(admin.email)
    response = client.post(f"/admin/users/{target.id}/roles", data={"role": "admin"})
    assert response.status_code == 400
    assert db.session.get(User, target.id).role_set == {Role.STUDENT}


# --- cookies and headers ------------------------------------------------------------------------------


def test_session_cookie_is_hardened(client, auth) -> None:
    make_user(email="ada@example.com")
    response = auth.login("ada@example.com")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("certplatform_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers(client) -> None:
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


# --- password change and reset ------------------------------------------------------------------------


def test_change_password(client, auth) -> None:
    make_user(email="ada@example.com")
    auth.login("ada@example.com")
    wrong = post_form(
        client,
        "/account/password",
        {"current": "nope", "password": "Brand-New-Pass-9", "confirm": "Brand-New-Pass-9"},
    )
    assert wrong.status_code == 422 and "current password is not correct" in wrong.get_data(as_text=True)
    weak = post_form(client, "/account/password", {"current": PASSWORD, "password": "weak", "confirm": "weak"})
    assert weak.status_code == 422
    ok = post_form(
        client,
        "/account/password",
        {"current": PASSWORD, "password": "Brand-New-Pass-9", "confirm": "Brand-New-Pass-9"},
    )
    assert ok.status_code == 302
    auth.logout()
    assert auth.login("ada@example.com", PASSWORD).status_code == 422
    assert auth.login("ada@example.com", "Brand-New-Pass-9").status_code == 302


def _reset_link(app) -> str:
    message = outbox(app)[-1]
    match = re.search(r"http://localhost(/auth/reset/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_flow_and_single_use(client, app, auth) -> None:
    make_user(email="ada@example.com")
    response = post_form(client, "/auth/reset", {"email": "ADA@example.com"})
    assert response.status_code == 302
    assert len(outbox(app)) == 1 and outbox(app)[0].to == ["ada@example.com"]
    link = _reset_link(app)
    assert client.get(link).status_code == 200
    done = post_form(client, link, {"password": "Reset-Works-123", "confirm": "Reset-Works-123"})
    assert done.status_code == 302 and done.location == "/auth/login"
    assert auth.login("ada@example.com", "Reset-Works-123").status_code == 302
    auth.logout()
    # The same link again: refused, and the password stays what the first use set.
    again = client.get(link)
    assert again.status_code == 302 and again.location == "/auth/reset"
    reuse = post_form(client, link, {"password": "Another-Pass-456", "confirm": "Another-Pass-456"})
    assert reuse.status_code == 302 and reuse.location == "/auth/reset"
    assert auth.login("ada@example.com", "Another-Pass-456").status_code == 422


def test_password_reset_link_expires(client, app, monkeypatch) -> None:
    user = make_user(email="ada@example.com")
    issued = time.time() - app.config["PASSWORD_RESET_MAX_AGE"] - 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(issued))
    token = accounts.make_reset_token(user)
    monkeypatch.undo()
    with pytest.raises(accounts.AccountError, match="expired"):
        accounts.user_for_reset_token(token)
    response = client.get(f"/auth/reset/{token}", follow_redirects=True)
    assert "expired" in response.get_data(as_text=True)


def test_forged_reset_token_is_refused(client) -> None:
    user = make_user(email="ada@example.com")
    token = accounts.make_reset_token(user)
    with pytest.raises(accounts.AccountError, match="not valid"):
        accounts.user_for_reset_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_reset_request_does_not_reveal_accounts(client, app) -> None:
    known = post_form(client, "/auth/reset", {"email": "nobody@example.com"}, follow_redirects=True)
    assert "If an account uses this address" in known.get_data(as_text=True)
    assert outbox(app) == []


def test_reset_mail_is_in_the_users_language(client, app) -> None:
    user = make_user(email="wei@example.com")
    from certplatform.models import Locale

    user.locale = Locale.ZH_CN
    db.session.commit()
    post_form(client, "/auth/reset", {"email": "wei@example.com"})
    message = outbox(app)[-1]
    assert "重置" in message.subject and "一小时" in message.body


def test_invitation_links_last_a_week_and_reset_links_an_hour(app, monkeypatch) -> None:
    user = make_user(email="new.student@example.com")

    def token_made(seconds_ago: float, kind: str) -> str:
        with monkeypatch.context() as m:
            m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - seconds_ago))
            return accounts.make_reset_token(user, kind)

    assert accounts.user_for_reset_token(token_made(2 * 86400, accounts.INVITATION)).id == user.id
    with pytest.raises(accounts.AccountError, match="expired"):
        accounts.user_for_reset_token(token_made(8 * 86400, accounts.INVITATION))
    with pytest.raises(accounts.AccountError, match="expired"):
        accounts.user_for_reset_token(token_made(2 * 3600, accounts.RESET))
    # The kind is signed: a reset token cannot be turned into a week-long invitation.
    from itsdangerous.encoding import base64_decode, base64_encode

    payload, rest = token_made(2 * 3600, accounts.RESET).split(".", 1)
    altered = base64_decode(payload).replace(b'"kind":"reset"', b'"kind":"invitation"')
    assert b'"kind":"invitation"' in altered
    with pytest.raises(accounts.AccountError, match="not valid"):
        accounts.user_for_reset_token(base64_encode(altered).decode() + "." + rest)
