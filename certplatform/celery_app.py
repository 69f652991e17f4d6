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
    """A worker reports its sandbox as soon as it is up, not only at the first periodic sweep; before that it
    removes sandbox containers that dead workers of this host left behind, and (in a worker that grades in this
    process, --pool solo or threads) starts its pool of warm containers."""
    from certplatform.services import grading

    # A prefork parent only hands tasks to its children, which warm their own pools (worker_process_init).
    pool = getattr(sender, "pool", None)
    grades_here = pool is None or type(pool).__module__.rsplit(".", 1)[-1] in ("solo", "thread")
    with flask_app.app_context():
        _prepare_sandboxes(grading, warm=grades_here)
        grading.record_heartbeat(getattr(sender, "hostname", None) or "worker")


@worker_process_init.connect
def _warm_child(**_kwargs) -> None:
    """A forked worker process grades with a pool of its own (its containers carry its pid as their owner)."""
    from certplatform.services import grading

    with flask_app.app_context():
        _prepare_sandboxes(grading)


def _prepare_sandboxes(grading, warm: bool = True) -> None:
    import logging

    from certplatform.sandbox.backends import BackendUnavailable

    try:
        grading.reap_sandboxes()
        if warm:
            grading.warm_sandboxes()
    except BackendUnavailable as exc:  # reported by the heartbeat; grades will say not_gradable
        logging.getLogger(__name__).warning("sandbox not prepared at start: %s", exc)


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
