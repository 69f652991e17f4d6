"""certplatform: the FlagOS certification and online-learning platform."""

from __future__ import annotations

from typing import Any

from flask import Flask

from certplatform.config import load_config


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the application.

    `config` is an environment name ("development", "test", "production") or a mapping of settings applied
    over the environment's defaults (its optional "ENV_NAME" key picks the environment). No I/O happens here:
    migrations, content sync and demo data are explicit commands.
    """
    app = Flask(__name__, instance_relative_config=True)
    overrides: dict[str, Any] = {}
    if isinstance(config, dict):
        overrides = dict(config)
        name = overrides.pop("ENV_NAME", None)
    else:
        name = config
    app.config.update(load_config(name, app.instance_path))
    celery_overrides = overrides.pop("CELERY", None)
    app.config.update(overrides)
    if celery_overrides:
        app.config["CELERY"] = {**app.config["CELERY"], **celery_overrides}

    from certplatform import errors, rate_limits, request_guards, web
    from certplatform.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from certplatform.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR") or _migrations_dir())
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    rate_limits.configure(app)
    limiter.init_app(app)
    mail.init_app(app)

    from certplatform.extensions import celery_init_app

    celery_init_app(app)

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    request_guards.init_app(app)  # before the blueprints: their routes use its bounded integers
    web.init_app(app)
    errors.init_app(app)

    from certplatform import cli

    cli.init_app(app)
    return app


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
