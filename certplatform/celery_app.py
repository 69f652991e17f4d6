"""Entry point for the Celery worker: `celery -A certplatform.celery_app worker`."""

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from certplatform import create_app
from certplatform.sweeper import Sweeper

flask_app = create_app()
celery = flask_app.extensions["celery"]

import certplatform.tasks  # noqa: E402, F401  (registers the tasks with the worker)


@worker_process_init.connect
def _own_connections(**_kwargs) -> None:
    """A forked pool process opens database connections of its own rather than share its parent's sockets."""
    from certplatform.extensions import db

    with flask_app.app_context():
        db.engine.dispose(close=False)


@worker_ready.connect
def _report_at_start(sender=None, **_kwargs) -> None:
    """A worker reports its sandbox as soon as it is up, not only at the first periodic sweep."""
    from certplatform.services.grading import record_heartbeat

    with flask_app.app_context():
        record_heartbeat(getattr(sender, "hostname", None) or "worker")


_sweepers: list[Sweeper] = []


@worker_ready.connect
def _start_sweeper(sender=None, **_kwargs) -> None:
    """Every worker sweeps (one at a time, under a lock): recovery never waits for one particular worker."""
    sweeper = Sweeper(flask_app, getattr(sender, "hostname", None) or "worker")
    sweeper.start()
    _sweepers.append(sweeper)


@worker_shutdown.connect
def _stop_sweeper(**_kwargs) -> None:
    while _sweepers:
        _sweepers.pop().stop()
