"""Blueprints, login wiring, security headers and what every template sees."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from certplatform.config import PLATFORM_NAME
from certplatform.extensions import login_manager
from certplatform.i18n import LANGUAGE_NAMES, current_locale
from certplatform.labels import KIND_LABELS, ROLE_LABELS, TIER_LABELS
from certplatform.main.forms import LanguageForm
from certplatform.models import Role
from certplatform.services import sessions
from certplatform.urls import public_url

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class _StatelessSession(SecureCookieSession):
    """The empty session of a request under /api/: never read from a cookie, never saved to one."""


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except under /api/: the API is stateless (its callers are programs, its language
    comes from Accept-Language), so it neither reads the session cookie nor sets one, and does not pay for either."""

    def open_session(self, app: Flask, request):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return _StatelessSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(session, _StatelessSession):
            super().save_session(app, session, response)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: frozenset[Role] | None = None  # None: every signed-in user
    public: bool = False  # shown to anonymous visitors too


# Features add their own entries here when they arrive.
NAVIGATION: list[NavItem] = [
    NavItem("learn.catalogue", _l("Courses"), public=True),
    NavItem("learn.mine", _l("My learning")),
    NavItem("exams.index", _l("Exams"), public=True),
    NavItem("main.dashboard", _l("Dashboard")),
    NavItem("review.index", _l("Reviews"), frozenset({Role.MENTOR})),
    NavItem("certs.mine", _l("My certificates")),
    NavItem("messages.inbox", _l("Messages")),
    NavItem("company.index", _l("Company"), frozenset({Role.COMPANY_MEMBER})),
    NavItem("cohorts.index", _l("Cohorts"), frozenset({Role.UNIVERSITY_ADMIN})),
    NavItem("orgs.mine", _l("My organizations"), frozenset({Role.UNIVERSITY_ADMIN, Role.COMPANY_MEMBER})),
    NavItem("admin.index", _l("Administration"), frozenset({Role.ADMIN})),
]


def navigation_for(user: object) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return [item for item in NAVIGATION if item.public]
    roles = user.role_set  # type: ignore[attr-defined]
    return [item for item in NAVIGATION if item.public or item.roles is None or item.roles & roles]


def init_app(app: Flask) -> None:
    from certplatform.account import bp as account_bp
    from certplatform.admin import bp as admin_bp
    from certplatform.auth import bp as auth_bp
    from certplatform.certs import bp as certs_bp
    from certplatform.cohorts import bp as cohorts_bp
    from certplatform.company import bp as company_bp
    from certplatform.exams import bp as exams_bp
    from certplatform.learn import bp as learn_bp
    from certplatform.main import bp as main_bp
    from certplatform.messages import bp as messages_bp
    from certplatform.orgs import bp as orgs_bp
    from certplatform.review import bp as review_bp
    from certplatform.verify import api_bp
    from certplatform.verify import bp as verify_bp

    for bp in (
        main_bp,
        auth_bp,
        account_bp,
        learn_bp,
        exams_bp,
        review_bp,
        certs_bp,
        verify_bp,
        api_bp,
        admin_bp,
        orgs_bp,
        company_bp,
        messages_bp,
        cohorts_bp,
    ):
        app.register_blueprint(bp)
    app.add_template_global(public_url)
    app.session_interface = CookieSessionInterface()

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    # The cookies carry a server-side session's token, not the user id (see services.sessions).
    login_manager.id_attribute = "login_token"
    login_manager.user_loader(sessions.load)

    # What does not depend on the request is a global, so macros imported without context see it too.
    app.jinja_env.globals.update(
        language_names=LANGUAGE_NAMES,
        csrf_token=generate_csrf,
        Role=Role,
        role_names=ROLE_LABELS,
        kind_names=KIND_LABELS,
        tier_names=TIER_LABELS,
        platform_name=PLATFORM_NAME,
    )

    @app.context_processor
    def request_globals() -> dict[str, object]:
        return {
            "navigation": navigation_for(current_user),
            "current_locale": current_locale().value,
            "language_form": LanguageForm(
                formdata=None, locale=current_locale().value, next=getattr(g, "current_path", "/")
            ),
        }

    @app.before_request
    def remember_path() -> None:
        g.current_path = request.full_path.rstrip("?")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
