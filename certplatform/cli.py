"""The `certplatform` command: every `flask` command plus the platform's own."""

from __future__ import annotations

import json
import secrets

import click
from flask import Flask
from flask.cli import FlaskGroup

from certplatform.extensions import db


def _create_app() -> Flask:
    from certplatform import create_app
    from certplatform.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # a configuration problem is the operator's to fix: say it plainly
        raise click.ClickException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """FlagOS certification platform."""


def init_app(app: Flask) -> None:
    from certplatform import integrity_cli
    from certplatform.certs import cli as certs_cli
    from certplatform.content import cli as content_cli
    from certplatform.sandbox import cli as sandbox_cli

    app.cli.add_command(create_admin)
    app.cli.add_command(demo_data)
    content_cli.init_app(app)
    sandbox_cli.init_app(app)
    certs_cli.init_app(app)
    integrity_cli.init_app(app)


@click.command("create-admin")
@click.option("--email", prompt=True, help="Email of the administrator account.")
@click.option("--name", "name_latin", prompt="Name (Latin letters)", help="Name in Latin letters.")
@click.option("--name-zh", default=None, help="Name in Chinese characters.")
@click.password_option(help="Password (prompted when not given).")
def create_admin(email: str, name_latin: str, name_zh: str | None, password: str) -> None:
    """Create an administrator, or grant the admin role to an existing account."""
    from certplatform.models import Role, UserRole
    from certplatform.services import accounts, audit

    user = accounts.find_by_email(email)
    try:
        if user is None:
            user = accounts.register(email, password, name_latin, name_zh)
            created = True
        else:
            created = False
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    if Role.ADMIN not in user.role_set:
        user.roles.append(UserRole(role=Role.ADMIN))
        audit.record(None, "role.grant", "user", user.id, role=Role.ADMIN.value, via="cli")
        db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} administrator {user.email}")


@click.command("demo-data")
@click.option("--password", default=None, help="Password for every demo account (default: a random one).")
def demo_data(password: str | None) -> None:
    """Create demo accounts for every role (idempotent) and print them as JSON."""
    from certplatform.services.demo import load_demo_data

    password = password or ("Demo-" + secrets.token_urlsafe(9) + "7a")
    click.echo(json.dumps(load_demo_data(password), ensure_ascii=False, indent=2))
