"""Entry point for the Celery worker: `celery -A certplatform.celery_app worker`."""

from certplatform import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

import certplatform.tasks  # noqa: E402, F401  (registers the tasks with the worker)
