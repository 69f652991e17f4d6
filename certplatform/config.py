"""Configuration: the only module that reads the environment.

`load_config(name, instance_path)` is called by `create_app`; nothing here runs at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

ENVIRONMENTS = ("development", "test", "production")
LANGUAGES = ("en", "zh_CN")
# The name the platform signs, mails and issues under.
PLATFORM_NAME = "FlagOS Certification"


class ConfigError(RuntimeError):
    """Raised when the configuration cannot start the application safely."""


class BaseConfig:
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - replaced in production, which refuses to start without one
    SQLALCHEMY_DATABASE_URI = "sqlite:///certplatform.db"  # relative: Flask-SQLAlchemy puts it in instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    REDIS_URL: str | None = None
    # werkzeug's password hashing method: its default scrypt (n=2^15, r=8, p=1: about 32 MB and tens of ms a hash).
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name

    # Session and cookie hardening.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "certplatform_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 3600 * 4
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # features that accept larger uploads raise it per route
    JSON_MAX_BYTES = 256 * 1024  # a JSON body (the bulk verification API) larger than this is refused

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = LANGUAGES

    # Every web process counts in one store: Redis when REDIS_URL is set, else the application's database.
    RATELIMIT_STORAGE_URI = "database://"
    RATELIMIT_HEADERS_ENABLED = True
    # Always set: Flask-Limiter's extension object is shared, and an app without the key inherits the last one's.
    RATELIMIT_ENABLED = True
    RATELIMIT_KEY_PREFIX = "certplatform"
    LOGIN_RATE_LIMIT = "5 per minute;30 per hour"  # login attempts per address
    LOGIN_ACCOUNT_RATE_LIMIT = "10 per 15 minutes;50 per day"  # failed logins per account, from any address
    REGISTER_RATE_LIMIT = "10 per hour"
    RESET_RATE_LIMIT = "5 per hour"

    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid
    INVITATION_MAX_AGE = 7 * 24 * 3600  # an invited student's link to choose a first password
    PASSWORD_MIN_LENGTH = 10

    MAIL_BACKEND = "console"  # development: the message, and so the reset link, goes to the log
    MAIL_DEFAULT_SENDER = f"{PLATFORM_NAME} <no-reply@certplatform.localhost>"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False

    # The folder holding courses/ and exams/; lesson assets are served from it. Default: the repository.
    CONTENT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    QUIZ_RATE_LIMIT = "30 per hour"

    # Grading sandbox: "docker" (isolated) or "process" (development only; refused in production).
    SANDBOX_BACKEND = "docker"
    SANDBOX_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    SANDBOX_PYTHON = sys.executable  # the process backend's interpreter (needs torch, triton, numpy)
    SANDBOX_RUNTIME: str | None = None  # force a runtime for every exam, e.g. "triton-gpu" on NVIDIA hosts
    SANDBOX_IMAGES: dict[str, str] = {}  # runtime -> image tag, instead of the content-hash tag
    # Where `certplatform sandbox build` says how far it is (web, worker and build read one file); default in the
    # instance folder.
    SANDBOX_BUILD_STATUS_FILE: str | None = None
    # Warm single-use containers a grading worker process keeps per pool key (runtime and container limits); 0 = a
    # cold container per grade (the web app, the CLI and tests). See certplatform/sandbox/pool.py.
    SANDBOX_POOL_SIZE = 0
    SANDBOX_POOL_MAX_AGE_S = 600.0  # a warm container that waited longer is replaced
    SANDBOX_POOL_PRELOAD: tuple[str, ...] = ("torch", "triton", "triton.language")  # the waiting candidate imports
    SANDBOX_POOL_REAP_S = 60.0  # how often containers of dead owner processes are removed
    GRADING_STUCK_GRACE_S = 120  # a running submission older than its wall limit plus this is re-queued
    GRADING_MAX_RUNS = 3  # grading runs before a submission is given up as not_gradable
    # A running grading holds a lease its worker renews; one not renewed for GRADING_LEASE_S is taken back by the
    # sweeper that every worker runs, one worker at a time, every GRADING_SWEEP_INTERVAL_S.
    GRADING_LEASE_S = 8
    GRADING_LEASE_RENEW_S = 2
    GRADING_SWEEP_INTERVAL_S = 2
    GRADING_PERIODIC_SWEEP_S = 60  # the rest of the sweep (outbox, expired attempts, sessions), once for all workers
    # Fair grading: at most this many of one candidate's submissions are queued at the broker or being graded; the
    # rest wait in the candidate's own line, so a flood from one candidate never pushes another's back by more
    # than a slot. Set it to the number of grading slots (workers x concurrency) for a lone candidate's burst to
    # use them all.
    GRADING_INFLIGHT_PER_CANDIDATE = 2
    # Submissions per candidate (counted in the shared rate-limit store), whatever address they come from.
    CANDIDATE_SUBMIT_RATE_LIMIT = "10 per minute;120 per hour"
    HEARTBEAT_STALE_S = 300  # /healthz calls grading broken when no worker reported for this long

    REVIEW_LEASE_MINUTES = 90  # a claimed review returns to the queue when its mentor does not decide by then
    # Similarity between candidates' submissions of a task (copydetect's winnowed fingerprints): a pair is flagged
    # to the mentors when this share of either submission's code, the task's starter left out, is found in the other
    # (an exam may set its own in exam.yaml, review.similarity_threshold).
    SIMILARITY_THRESHOLD = 0.75
    SIMILARITY_KGRAM = 25  # characters of normalised code per fingerprint: shorter matches are noise
    SIMILARITY_WINDOW = 1  # winnowing window: 1 keeps every fingerprint (the submissions are small)
    CERT_VALIDITY_DAYS = 730  # 24 months
    CERT_RENEWAL_DAYS = 90  # a holder may retake the exam this long before the certificate expires
    CERT_KEYS_DIR: str | None = None  # default: instance/keys; private keys live here, never in the database
    # The one public address every absolute link is built from (certificates, QR codes, badges, mail, OpenAPI);
    # scripts/run derives it from HOST and PORT. See urls.public_url.
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    VERIFY_RATE_LIMIT = "60 per minute"
    # Bulk verification per API key, by the company's membership tier.
    API_RATE_LIMITS = {"platinum": "600 per minute", "gold": "300 per minute", "silver": "60 per minute"}
    API_RATE_LIMIT_UNKNOWN = "20 per minute"  # per address, for calls without a valid key
    BULK_VERIFY_MAX_IDS = 100
    MESSAGE_RATE_LIMIT = "20 per hour"

    SUBMISSION_MAX_BYTES = 64 * 1024
    SUBMISSIONS_PER_TASK = 10
    SUBMIT_RATE_LIMIT = "30 per hour"

    # How many reverse proxies in front of the app set X-Forwarded-*; 0 trusts none (rate limits key on IPs).
    TRUSTED_PROXIES = 0

    CELERY: dict[str, Any] = {}


class DevelopmentConfig(BaseConfig):
    DEBUG = False


class TestConfig(BaseConfig):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PUBLIC_BASE_URL = "http://localhost"  # what the test client sends as Host
    MAIL_BACKEND = "locmem"
    PASSWORD_RESET_MAX_AGE = 3600
    # The same scrypt at a work factor the suite's thousands of sign-ins can afford; hashes keep their own
    # parameters, so a test that checks a hash reads them from it.
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105 - a method name


class ProductionConfig(BaseConfig):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    MAIL_BACKEND = "smtp"
    PREFERRED_URL_SCHEME = "https"


_CLASSES = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def _upper_attrs(cls: type) -> dict[str, Any]:
    return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(name: str | None, instance_path: str) -> dict[str, Any]:
    """Build the configuration mapping for environment `name` (default: $CERTPLATFORM_ENV or development)."""
    env = os.environ
    name = name or env.get("CERTPLATFORM_ENV", "development")
    if name not in _CLASSES:
        raise ConfigError(f"Unknown environment {name!r}; choose one of {', '.join(ENVIRONMENTS)}.")
    cfg = _upper_attrs(_CLASSES[name])
    cfg["ENV_NAME"] = name
    cfg["CELERY"] = dict(cfg["CELERY"])

    if name == "production":
        missing = [k for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL") if not env.get(k)]
        if missing:
            raise ConfigError(
                "Refusing to start in production: set "
                + ", ".join(missing)
                + " in the environment (PostgreSQL DATABASE_URL, Redis REDIS_URL, a long random SECRET_KEY, and"
                " PUBLIC_BASE_URL, the address people reach, which every certificate, badge and mail links to)."
            )
    if env.get("SECRET_KEY") and name != "test":
        cfg["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("DATABASE_URL"):
        cfg["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    if env.get("REDIS_URL"):
        cfg["REDIS_URL"] = env["REDIS_URL"]

    for key in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "MAIL_BACKEND"):
        if env.get(key):
            cfg[key] = env[key]
    if env.get("MAIL_PORT"):
        cfg["MAIL_PORT"] = int(env["MAIL_PORT"])
    for key in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
        if env.get(key):
            cfg[key] = _env_bool(env[key])

    if env.get("CONTENT_ROOT"):
        cfg["CONTENT_ROOT"] = os.path.abspath(env["CONTENT_ROOT"])
    if env.get("SANDBOX_BACKEND"):
        cfg["SANDBOX_BACKEND"] = env["SANDBOX_BACKEND"]
    if env.get("SANDBOX_PYTHON"):
        cfg["SANDBOX_PYTHON"] = env["SANDBOX_PYTHON"]
    if env.get("SANDBOX_RUNTIME"):
        cfg["SANDBOX_RUNTIME"] = env["SANDBOX_RUNTIME"]
    if env.get("SANDBOX_POOL_SIZE"):
        cfg["SANDBOX_POOL_SIZE"] = int(env["SANDBOX_POOL_SIZE"])
    if env.get("SANDBOX_POOL_MAX_AGE_S"):
        cfg["SANDBOX_POOL_MAX_AGE_S"] = float(env["SANDBOX_POOL_MAX_AGE_S"])
    if env.get("SANDBOX_POOL_PRELOAD"):
        cfg["SANDBOX_POOL_PRELOAD"] = tuple(n.strip() for n in env["SANDBOX_POOL_PRELOAD"].split(",") if n.strip())
    if env.get("SANDBOX_IMAGE_TRITON_CPU"):
        cfg["SANDBOX_IMAGES"] = {"triton-cpu": env["SANDBOX_IMAGE_TRITON_CPU"]}
    cfg["CERT_KEYS_DIR"] = env.get("CERT_KEYS_DIR") or os.path.join(instance_path, "keys")
    if name != "test":  # a test names its own file, never the one a running platform uses
        cfg["SANDBOX_BUILD_STATUS_FILE"] = env.get("SANDBOX_BUILD_STATUS_FILE") or os.path.join(
            instance_path, "sandbox-build.json"
        )
    if env.get("PUBLIC_BASE_URL") and name != "test":  # tests build links for the test client's host
        cfg["PUBLIC_BASE_URL"] = public_base_url(env["PUBLIC_BASE_URL"])
    for key in (
        "GRADING_INFLIGHT_PER_CANDIDATE",
        "GRADING_STUCK_GRACE_S",
        "GRADING_MAX_RUNS",
        "GRADING_LEASE_S",
        "GRADING_LEASE_RENEW_S",
        "GRADING_SWEEP_INTERVAL_S",
        "GRADING_PERIODIC_SWEEP_S",
    ):
        if env.get(key):
            cfg[key] = float(env[key]) if key.endswith("_S") else int(env[key])
    if env.get("CANDIDATE_SUBMIT_RATE_LIMIT"):
        cfg["CANDIDATE_SUBMIT_RATE_LIMIT"] = env["CANDIDATE_SUBMIT_RATE_LIMIT"]
    if env.get("TRUSTED_PROXIES"):
        cfg["TRUSTED_PROXIES"] = int(env["TRUSTED_PROXIES"])
    for key in ("SIMILARITY_THRESHOLD", "SIMILARITY_KGRAM", "SIMILARITY_WINDOW"):
        if env.get(key):
            cfg[key] = env[key]
    cfg.update(similarity_settings(cfg))  # a bad threshold stops the start, not a mentor's page

    # Rate limits must be shared by every web worker: in Redis when there is one (always in production).
    if cfg["REDIS_URL"]:
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"]
    if env.get("RATELIMIT_ENABLED"):  # benchmarks switch limits off to measure the application itself
        cfg["RATELIMIT_ENABLED"] = _env_bool(env["RATELIMIT_ENABLED"])
    if env.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = env["RATELIMIT_STORAGE_URI"]

    cfg["CELERY"].update(_celery_config(name, cfg["REDIS_URL"], instance_path))
    if env.get("CELERY_DEFAULT_QUEUE"):  # platforms sharing one broker keep their messages apart
        cfg["CELERY"]["task_default_queue"] = env["CELERY_DEFAULT_QUEUE"]
    return cfg


def public_base_url(value: str) -> str:
    """The platform's public address as `scheme://host[:port][/path]` without a trailing slash, or ConfigError."""
    from urllib.parse import urlsplit

    url = value.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"PUBLIC_BASE_URL={value!r} is not a public address: use e.g. https://cert.example.org or "
            "http://127.0.0.1:5077 (scheme, host, optional port and path; no query or fragment)."
        )
    return url


def similarity_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """SIMILARITY_THRESHOLD (a share in (0, 1]), SIMILARITY_KGRAM and SIMILARITY_WINDOW (counts), checked, or
    ConfigError; values from the environment arrive as text."""
    checks = {
        "SIMILARITY_THRESHOLD": (float, lambda v: 0 < v <= 1, "a share of the code between 0 and 1, e.g. 0.75"),
        "SIMILARITY_KGRAM": (int, lambda v: 5 <= v <= 200, "a number of characters from 5 to 200"),
        "SIMILARITY_WINDOW": (int, lambda v: 1 <= v <= 100, "a window from 1 to 100"),
    }
    clean: dict[str, Any] = {}
    for key, (kind, valid, wanted) in checks.items():
        try:
            value = kind(cfg[key])
        except (TypeError, ValueError):
            value = None
        if value is None or isinstance(cfg[key], bool) or not valid(value):
            raise ConfigError(f"{key}={cfg[key]!r} is not valid: use {wanted}.")
        clean[key] = value
    return clean


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _celery_config(name: str, redis_url: str | None, instance_path: str) -> dict[str, Any]:
    # Without Redis, a file-backed broker: a laptop with nothing installed still runs jobs.
    broker = redis_url or f"sqla+sqlite:///{os.path.join(instance_path, 'celery-broker.sqlite')}"
    return {
        "broker_url": broker,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "task_always_eager": name == "test",
        "beat_schedule": {"sweep-grading": {"task": "certplatform.sweep", "schedule": 60.0}},
        "task_eager_propagates": name == "test",
        "imports": ("certplatform.tasks",),  # the task module; the services send its tasks by name
    }
