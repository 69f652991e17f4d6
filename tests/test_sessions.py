"""Sessions end when they should: logout, a password change or reset, and "log out everywhere else" end them on
the server, so copied session cookies and remember cookies stop working too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AuditEvent, UserSession
from certplatform.models.types import utcnow
from certplatform.services import accounts, sessions
from tests.conftest import outbox, post_form
from tests.factories import PASSWORD, make_user

COOKIES = ("certplatform_session", "remember_token")
NEW_PASSWORD = "Brand-New-Pass-9"


@pytest.fixture
def ada():
    return make_user(email="ada@example.com")


def _signed_in(app, remember: bool = True):
    client = app.test_client()
    data = {"email": "ada@example.com", "password": PASSWORD, **({"remember": "y"} if remember else {})}
    assert post_form(client, "/auth/login", data).status_code == 302
    assert client.get("/dashboard").status_code == 200
    return client


def _copy(app, client, only: tuple[str, ...] = COOKIES):
    """Another browser holding copies of `client`'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in only:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def _is_signed_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


def test_the_remember_cookie_alone_signs_in_again_while_the_session_lives(app, ada) -> None:
    browser = _signed_in(app)
    assert _is_signed_in(_copy(app, browser, only=("remember_token",))), "a browser restart keeps the user in"


def test_logout_ends_the_session_for_every_copy_of_its_cookies(app, ada) -> None:
    browser = _signed_in(app)
    copies = [_copy(app, browser, only=(name,)) for name in COOKIES] + [_copy(app, browser)]
    other = _signed_in(app)
    assert post_form(browser, "/auth/logout").status_code == 302
    assert not _is_signed_in(browser)
    assert [_is_signed_in(c) for c in copies] == [False, False, False]
    assert _is_signed_in(other), "logging out here leaves other browsers alone"


def test_a_password_change_ends_every_other_session(app, ada) -> None:
    here, elsewhere = _signed_in(app), _signed_in(app, remember=False)
    stolen = _copy(app, here)
    response = post_form(
        here, "/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert _is_signed_in(here), "the browser that changed the password stays signed in, in a new session"
    assert not _is_signed_in(elsewhere)
    assert not _is_signed_in(stolen), "copies of the changing browser's old cookies are out too"
    assert _is_signed_in(_copy(app, here, only=("remember_token",))), "the new session is remembered like the old"
    assert db.session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "user.password_change")) == {
        "sessions_ended": 1
    }


def test_log_out_everywhere_else(app, ada) -> None:
    here, there = _signed_in(app), _signed_in(app)
    stolen, copied_here = _copy(app, there), _copy(app, here)
    page = here.get("/account/sessions").get_data(as_text=True)
    assert page.count("session-agent") == 2 and "this browser" in page
    response = post_form(here, "/account/sessions/end-others", follow_redirects=True)
    assert "2 session(s) ended" not in response.get_data(as_text=True)
    assert "1 session(s) ended" in response.get_data(as_text=True)
    assert _is_signed_in(here) and not _is_signed_in(there) and not _is_signed_in(stolen)
    assert not _is_signed_in(copied_here), "this browser carries on in a new session"


def test_a_password_reset_ends_every_session(app, ada) -> None:
    browser = _signed_in(app)
    stolen = _copy(app, browser)
    stranger = app.test_client()
    post_form(stranger, "/auth/reset", {"email": "ada@example.com"})
    link = re.search(r"http://localhost(/auth/reset/\S+)", outbox(app)[-1].body).group(1)
    assert post_form(stranger, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert not _is_signed_in(browser) and not _is_signed_in(stolen)


def test_a_deactivated_account_is_signed_out_at_once(app, ada) -> None:
    browser = _signed_in(app)
    ada.active = False
    db.session.commit()
    assert not _is_signed_in(browser)


def test_cookies_carry_a_token_the_database_only_hashes(app, ada) -> None:
    browser = _signed_in(app)
    row = db.session.scalar(sa.select(UserSession))
    remember = browser.get_cookie("remember_token").value
    assert str(ada.id) != remember.split("|")[0] and row.token_hash not in remember
    assert accounts.authenticate("ada@example.com", PASSWORD) is not None


def test_long_ended_sessions_are_forgotten(app, ada) -> None:
    browser = _signed_in(app)
    post_form(browser, "/auth/logout")
    _signed_in(app)
    assert sessions.purge() == 0
    assert sessions.purge(now=utcnow() + timedelta(days=31)) == 1, "the ended one; the live one stays"
    assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 1
