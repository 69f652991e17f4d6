import pytest

from certplatform import create_app
from certplatform.config import ConfigError, load_config, normalise_database_url
from certplatform.services.accounts import hash_password


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in (
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "CERTPLATFORM_ENV",
        "RATELIMIT_STORAGE_URI",
        "MAIL_BACKEND",
        "PUBLIC_BASE_URL",
    ):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_its_settings(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as err:
        create_app("production")
    message = str(err.value)
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL"):
        assert key in message
    clean_env.setenv("DATABASE_URL", "postgresql://u@db/certplatform")
    clean_env.setenv("REDIS_URL", "redis://cache:6379/0")
    clean_env.setenv("SECRET_KEY", "x" * 40)
    # Without its public address every printed QR code and badge would point at a development default.
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL") as err:
        create_app("production")
    assert str(err.value).startswith("Refusing to start in production: set PUBLIC_BASE_URL in the environment")
    clean_env.setenv("PUBLIC_BASE_URL", "cert.example.org")
    with pytest.raises(ConfigError, match="not a public address"):
        create_app("production")


def test_production_uses_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgres://u@db/certplatform")
    clean_env.setenv("REDIS_URL", "redis://cache:6379/0")
    clean_env.setenv("SECRET_KEY", "x" * 40)
    clean_env.setenv("PUBLIC_BASE_URL", "https://cert.example.org/")
    app = create_app("production")
    assert app.config["PUBLIC_BASE_URL"] == "https://cert.example.org"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/certplatform"
    assert app.config["CELERY"]["broker_url"] == "redis://cache:6379/0"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SECRET_KEY"] == "x" * 40
    assert app.config["MAIL_BACKEND"] == "smtp"
    with app.app_context():  # passwords at werkzeug's full scrypt cost; only the tests' own config lowers it
        assert hash_password("Strong-Pass-1").startswith("scrypt:32768:8:1$")


def test_development_defaults_need_nothing_installed(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    config = load_config("development", str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:")
    assert config["CELERY"]["broker_url"] == f"sqla+sqlite:///{tmp_path}/celery-broker.sqlite"
    assert config["RATELIMIT_STORAGE_URI"] == "database://", "one store for both gunicorn workers"
    assert config["MAIL_BACKEND"] == "console"


def test_urls_in_the_environment_override_every_configuration(clean_env: pytest.MonkeyPatch, tmp_path) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://u@h/d")
    clean_env.setenv("REDIS_URL", "redis://h:1/2")
    for name in ("development", "test"):
        config = load_config(name, str(tmp_path))
        assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/d"
        assert config["CELERY"]["broker_url"] == "redis://h:1/2"


def test_unknown_environment_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="Unknown environment 'staging'"):
        create_app("staging")


def test_environment_name_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CERTPLATFORM_ENV", "test")
    assert create_app().config["TESTING"] is True


def test_database_url_spellings() -> None:
    assert normalise_database_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("postgresql+psycopg://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_overrides_merge_into_celery_settings(clean_env: pytest.MonkeyPatch) -> None:
    app = create_app({"ENV_NAME": "test", "CELERY": {"task_default_queue": "q1"}})
    assert app.config["CELERY"]["task_default_queue"] == "q1"
    assert app.config["CELERY"]["task_always_eager"] is True


def test_trusted_proxies_decide_the_client_address(clean_env: pytest.MonkeyPatch) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9"}
    plain = create_app({"ENV_NAME": "test"})
    with plain.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        from flask import request

        assert request.remote_addr == "127.0.0.1", "no proxy is trusted by default"
    clean_env.setenv("TRUSTED_PROXIES", "1")
    proxied = create_app("test")
    seen = {}

    @proxied.get("/_ip")
    def _ip():
        from flask import request

        seen["ip"] = request.remote_addr
        return "ok"

    proxied.test_client().get("/_ip", headers=headers)
    assert seen["ip"] == "203.0.113.9"
