"""A real Celery worker consumes from the real Redis broker."""

from __future__ import annotations

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker

from certplatform import create_app
from certplatform.extensions import db
from certplatform.services import mailer
from tests import services
from tests.conftest import _empty_tables, _test_config, outbox
from tests.factories import make_user

pytestmark = pytest.mark.redis


def test_password_reset_mail_goes_through_redis_and_a_worker(database_url: str) -> None:
    queue = f"test-{uuid.uuid4().hex}"  # a queue of its own: nothing else consumes or leaves messages here
    app = create_app(
        _test_config(
            database_url,
            CELERY={
                "broker_url": services.REDIS_URL,
                "task_always_eager": False,
                "task_default_queue": queue,
            },
        )
    )
    celery = app.extensions["celery"]
    import certplatform.tasks  # noqa: F401  (registers the tasks, as the worker entry point does)

    with app.app_context():
        user = make_user(email="ada@example.com")
        try:
            with start_worker(celery, pool="solo", perform_ping_check=False, queues=[queue], loglevel="WARNING"):
                with app.test_request_context("/"):
                    mailer.send_password_reset(user, "http://localhost/auth/reset/TOKEN")
                sent: list = []
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not sent:
                    sent = outbox(app)
                    time.sleep(0.05)
            assert sent, "the worker did not deliver the message within 20 s"
            assert sent[0].to == ["ada@example.com"]
            assert "http://localhost/auth/reset/TOKEN" in sent[0].body
        finally:
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
