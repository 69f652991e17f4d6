import json

import sqlalchemy as sa

from certplatform.extensions import db
from certplatform.models import AuditEvent, Role, User
from certplatform.services.demo import DEMO_ACCOUNTS


def test_create_admin_creates_and_promotes(runner) -> None:
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "Boss@Example.com",
            "--name",
            "Zhang Min",
            "--password",
            "Strong-Admin-Pass-1",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert user.role_set == {Role.STUDENT, Role.ADMIN}
    again = runner.invoke(args=["create-admin", "--email", "boss@example.com", "--name", "x", "--password", "whatever"])
    assert again.exit_code == 0 and "Updated" in again.output
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "role.grant")) == 1


def test_create_admin_refuses_a_weak_password(runner) -> None:
    result = runner.invoke(args=["create-admin", "--email", "boss@example.com", "--name", "Z", "--password", "weak"])
    assert result.exit_code != 0 and "Password too weak" in result.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_data_covers_every_role_and_is_idempotent(runner, client) -> None:
    first = runner.invoke(args=["demo-data", "--password", "Demo-Passw0rd-1"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert set(data["accounts"]) == {r.value for r in Role}
    second = json.loads(runner.invoke(args=["demo-data", "--password", "Demo-Passw0rd-2"]).output)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == len(DEMO_ACCOUNTS)
    for role, account in second["accounts"].items():
        user = db.session.scalar(sa.select(User).where(User.email == account["email"]))
        assert Role(role) in user.role_set


def test_every_flask_command_is_a_certplatform_command() -> None:
    from click.testing import CliRunner

    from certplatform.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "routes", "shell", "run", "create-admin", "demo-data"):
        assert command in result.output


def test_commands_explain_a_missing_production_setting(monkeypatch) -> None:
    from click.testing import CliRunner

    from certplatform.cli import main

    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CERTPLATFORM_ENV", "production")
    result = CliRunner().invoke(main, ["routes"])
    assert result.exit_code == 1
    assert "Refusing to start in production" in result.output and "Traceback" not in result.output


def test_demo_data_includes_valid_revoked_and_expired_certificates(app, runner, tmp_path) -> None:
    from pathlib import Path

    from certplatform.content.sync import sync_content
    from certplatform.services import certificates
    from tests.exam_fixtures import write_exam_root

    root = write_exam_root(tmp_path / "content")
    app.config.update(CONTENT_ROOT=str(root), CERT_KEYS_DIR=str(tmp_path / "keys"))
    sync_content(root)
    first = json.loads(runner.invoke(args=["demo-data", "--password", "Demo-Passw0rd-1"]).output)["certificates"]
    again = json.loads(runner.invoke(args=["demo-data", "--password", "Demo-Passw0rd-1"]).output)["certificates"]
    assert first == again, "idempotent"
    statuses = {
        kind: certificates.issuing.status(certificates.issuing.lookup(first[kind]))
        for kind in ("valid", "revoked", "expired")
    }
    assert statuses == {"valid": "valid", "revoked": "revoked", "expired": "expired"}
    assert Path(first["valid_pdf"]).read_bytes() == certificates.issuing.lookup(first["valid"]).pdf


def test_selftest_pool_needs_the_docker_backend(runner) -> None:
    result = runner.invoke(args=["exams", "selftest", "--backend", "process", "--pool", "1"])
    assert result.exit_code == 2 and "--pool needs the docker backend" in result.output


def test_selftest_pool_size_is_bounded(runner) -> None:
    result = runner.invoke(args=["exams", "selftest", "--backend", "docker", "--pool", "9"])
    assert result.exit_code == 2 and "--pool" in result.output
