"""Building the sandbox image while the platform serves: progress to one status file, to the terminal, and
the submissions that waited for it sent to grading as soon as it ends.

`certplatform sandbox build` runs `run` (scripts/run starts it in the background when the image is missing).
The web reads the status file for /healthz and the exam pages; a worker reads it to keep submissions queued
while the image they need is being built (grading.waiting_for_sandbox).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from flask import current_app

from certplatform.extensions import db
from certplatform.models import Submission
from certplatform.sandbox import build_status, images
from certplatform.sandbox.build_progress import BuildProgress
from certplatform.sandbox.build_status import BuildStatus

log = logging.getLogger(__name__)
ECHO_EVERY = 5  # percent between two lines in the terminal


def status_path() -> str | None:
    return current_app.config.get("SANDBOX_BUILD_STATUS_FILE")


def current() -> BuildStatus | None:
    """The last build's status (None when no build ever wrote one here)."""
    return build_status.read(status_path())


def preparing() -> BuildStatus | None:
    """The build under way, if one is: what the exam pages and /healthz show while the image is being made."""
    status = current()
    return status if status is not None and status.building else None


class _Reporter:
    """Writes the status file on every change of step or whole percent, and a terminal line every few percent."""

    def __init__(self, path: str | None, status: BuildStatus, echo: Callable[[str], None], raw: TextIO | None):
        self.path, self.status, self.echo, self.raw = path, status, echo, raw
        self.started = time.monotonic()
        self.echoed: tuple[str, int] = ("", -ECHO_EVERY)

    def __call__(self, progress: BuildProgress) -> None:
        changed = (progress.phase, progress.percent, progress.detail) != (
            self.status.phase,
            self.status.percent,
            self.status.detail,
        )
        if not changed:
            return
        moved = (progress.phase, progress.percent) != (self.status.phase, self.status.percent)
        self.status = replace(self.status, phase=progress.phase, percent=progress.percent, detail=progress.detail)
        if self.path and moved:
            self.status = build_status.write(self.path, self.status)
        last_phase, last_percent = self.echoed
        if progress.phase != last_phase or progress.percent >= last_percent + ECHO_EVERY:
            self.echoed = (progress.phase, progress.percent)
            self.echo(f"sandbox image: {progress.percent:3d}%  {progress.phase}  {progress.detail}".rstrip())

    def line(self, text: str) -> None:
        if self.raw is not None:
            for line in text.splitlines():
                self.raw.write(f"{time.monotonic() - self.started:8.1f} {line}\n")
            self.raw.flush()


def run(
    runtime: str,
    echo: Callable[[str], None],
    base_tag: str | None = None,
    wheelhouse: Path | None = None,
    raw_log: TextIO | None = None,
) -> str:
    """Build the image the docker backend grades `runtime` with, unless it exists; return its tag.

    Raises ImageBuildError or docker's DockerException when the build fails (the status file then says so).
    """
    import docker

    from certplatform.sandbox.backends.docker_backend import DockerBackend
    from certplatform.services import grading

    config = current_app.config
    tag = DockerBackend.from_config(config).image_for(runtime)
    path = status_path()
    client = docker.from_env(timeout=600)
    try:
        if images.image_exists(client, tag):
            if path:
                build_status.write(path, BuildStatus("ready", tag, runtime, phase="ready", percent=100))
            return tag
        status = build_status.started(path, tag, runtime) if path else BuildStatus("building", tag, runtime)
        reporter = _Reporter(path, status, echo, raw_log)
        progress = BuildProgress(listener=reporter, output=reporter.line)
        echo(f"sandbox image: building {tag} (the platform serves meanwhile; submissions wait until it is ready)")
        try:
            images.build_runtime_image(
                client,
                runtime,
                Path(config["SANDBOX_REPO_ROOT"]),
                base_tag=base_tag,
                wheelhouse_root=wheelhouse or images.WHEELHOUSE_ROOT,
                tag=tag,
                progress=progress,
            )
        except BaseException as exc:
            if path:
                message = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
                build_status.write(path, replace(reporter.status, state="failed", message=message))
            raise
        if path:
            build_status.write(path, replace(reporter.status, state="ready", phase="ready", percent=100, detail=""))
        return tag
    finally:
        client.close()
        # Whatever the outcome, what waited is graded now: on the new image, or ended as not gradable with the
        # reason, instead of waiting for the next sweep.
        try:
            if sa.inspect(db.engine).has_table(Submission.__tablename__):  # not before `db upgrade` (scripts/test)
                grading.redrive_queued()
        except Exception as exc:  # the database may be what failed; the sweeper sends them later anyway
            log.warning("could not send the waiting submissions to grading: %s", exc)
