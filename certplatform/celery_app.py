"""Entry point for the Celery worker: `celery -A certplatform.celery_app worker`."""

from celery.signals import worker_ready

from certplatform import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

import certplatform.tasks  # noqa: E402, F401  (registers the tasks with the worker)


@worker_ready.connect
def _report_at_start(sender=None, **_kwargs) -> None:
    """A worker reports its sandbox as soon as it is up, not only at the first periodic sweep."""
    from certplatform.services.grading import record_heartbeat

    with flask_app.app_context():
        record_heartbeat(getattr(sender, "hostname", None) or "worker")
