"""Input no database column can hold gets a clear 400 before it reaches the database, on every route."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import html5lib
import pytest
import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import ApiKey, CompanyTier, ContactMessage, OrganizationKind, Role, User
from certplatform.services import companies, directory
from tests.conftest import post_form
from tests.factories import make_org, make_user
from tests.test_authz import _path, world  # noqa: F401  (the role matrix's world, walked below)

NUL = "a\x00b"


def _refused(response) -> bool:
    return response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


@pytest.fixture
def admin_client(client, auth):
    auth.login(make_user(Role.ADMIN, email="root@example.com").email)
    return client


@pytest.mark.parametrize("path", ["/admin/users?q=", "/admin/audit?action="])
def test_nul_in_a_search_is_refused(admin_client, path) -> None:
    assert _refused(admin_client.get(path + "a%00b"))
    assert admin_client.get(path + "ab").status_code == 200


def test_nul_in_a_path_is_refused(client) -> None:
    assert _refused(client.get("/verify/FLAGOS-L1-%00"))
    assert _refused(client.get("/api/v1/certificates/FLAGOS-%00"))


def test_nul_in_the_account_name_is_refused(client, auth) -> None:
    user = make_user(email="ada@example.com", name="Ada")
    auth.login(user.email)
    assert _refused(post_form(client, "/account/", {"name_latin": NUL, "name_zh": "", "locale": ""}))
    assert db.session.get(User, user.id).name_latin == "Ada"


def test_nul_in_an_api_key_name_and_a_message_subject_is_refused(client, auth, cert) -> None:
    member = make_user(Role.COMPANY_MEMBER, email="hr@chip.example")
    org = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,))
    directory.set_consent(cert.user, True, "triton")
    auth.login(member.email)
    assert _refused(post_form(client, f"/company/{org.id}/keys", {"name": NUL}))
    assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0
    contact = f"/company/{org.id}/directory/{cert.user_id}/contact"
    assert _refused(post_form(client, contact, {"subject": NUL, "body": "Hello"}))
    assert _refused(post_form(client, contact, {"subject": "Hello", "body": NUL}))
    assert db.session.scalar(sa.select(sa.func.count(ContactMessage.id))) == 0


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "-3", "two", "\uff11"])
def test_page_numbers_are_bounded(admin_client, page) -> None:
    for path in ("/admin/users", "/admin/audit"):
        response = admin_client.get(f"{path}?page={page}")
        assert response.status_code == 400, path
        assert "page number must be a whole number" in response.get_data(as_text=True)
    assert admin_client.get("/admin/users?page=2").status_code == 200


def test_ids_in_paths_larger_than_the_database_holds_are_not_found(admin_client) -> None:
    assert admin_client.get("/admin/users/99999999999999999999").status_code == 404
    assert admin_client.get(f"/admin/users/{2**31}").status_code == 404
    assert admin_client.get("/review/attempts/99999999999999999999/manage").status_code == 404


@pytest.fixture
def api_key(app):
    member = make_user(Role.COMPANY_MEMBER)
    org = make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(member,))
    return companies.create_key(member, org, "script")[1]


def _verify(client, key: str, body: str | bytes):
    return client.post(
        "/api/v1/certificates/verify",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


def test_a_deeply_nested_json_body_is_refused(client, api_key) -> None:
    for body in ("[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"ids": ' + "[" * 40 + "]" * 40 + "}"):
        response = _verify(client, api_key, body)
        assert response.status_code == 400
        assert response.json["error"] == "bad_request" and "nested" in response.json["message"]


def test_json_size_and_nul_strings_are_refused(app, client, api_key) -> None:
    big = '{"ids": ["' + "x" * app.config["JSON_MAX_BYTES"] + '"]}'
    assert "larger than" in _verify(client, api_key, big).json["message"]
    nul = _verify(client, api_key, '{"ids": ["FLAGOS-L1-\\u0000"]}')
    assert nul.status_code == 400 and "NUL" in nul.json["message"]
    assert _verify(client, api_key, "not json").status_code == 400
    assert _verify(client, api_key, '{"ids": ["FLAGOS-L1-0000-0000"]}').status_code == 200


def test_an_api_key_that_is_not_ours_is_refused_without_a_lookup(client) -> None:
    for key in ("fcv_\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00_x", "fcv_ABCDEFGHIJKL_x"):
        assert companies.prefix_of(key) is None
    response = client.post("/api/v1/certificates/verify", json={"ids": []}, headers={"X-API-Key": "fcv_zzzzzzzzzzzz_x"})
    assert response.status_code == 401


# --- a sweep over every form the role matrix reaches ------------------------------------------------------


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # the sweep sends hundreds of forms, logins included


def _forms(html: str, page: str):
    """(method, action, {field: value}) of every form on the page, filled as a browser would submit it."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    for form in document.iter("form"):
        fields: dict[str, str] = {}
        for element in form.iter():
            name = element.get("name")
            if not name or element.get("type") in {"file", "submit", "button"}:
                continue
            if element.tag == "select":
                option = next(element.iter("option"), None)
                fields[name] = option.get("value", "") if option is not None else ""
            elif element.tag in {"input", "textarea"}:
                fields.setdefault(name, element.get("value") or "x")
        action = form.get("action") or page
        yield (form.get("method") or "get").lower(), urlsplit(action).path or page, fields


@pytest.mark.parametrize("identity", [r for r in Role])
def test_every_field_of_every_form_refuses_a_nul(app, client, auth, world, identity) -> None:  # noqa: F811
    visitor = make_user(identity, email=f"sweep-{identity.value}@example.com")
    make_org(OrganizationKind.COMPANY, CompanyTier.GOLD, members=(visitor,))
    auth.login(visitor.email)
    seen: set[tuple[str, str, str]] = set()
    checked = 0
    for rule in [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]:
        page = _path(rule, world)
        response = client.get(page)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for method, action, fields in list(_forms(response.get_data(as_text=True), page)):
            for name in fields:
                if name.endswith("csrf_token") or (method, action, name) in seen:
                    continue
                seen.add((method, action, name))
                data = {**fields, name: NUL}
                if method == "post":
                    answer = client.post(action, data=data)
                else:
                    answer = client.get(f"{action}?{urlencode(data)}")
                assert _refused(answer), f"{method.upper()} {action} field {name}: {answer.status_code}"
                checked += 1
    assert checked > 5
