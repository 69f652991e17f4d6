"""Where a sandbox image build stands, in one small JSON file that the build, the web and the worker all read.

`certplatform sandbox build` writes it (atomically: a temporary file renamed over the old one) as it goes; the
web shows it on `/healthz` and the exam pages, and a worker keeps submissions queued while it says the image they
need is being built. The file lives in the instance folder (`SANDBOX_BUILD_STATUS_FILE`), which `scripts/run`'s
web server, worker and build share. A build whose process died says so itself the next time anyone reads it.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

State = Literal["building", "ready", "failed"]
# A build on another host (a shared instance folder) cannot be asked whether it lives: trust it this long.
REMOTE_STALE_AFTER = timedelta(minutes=30)


def image_missing(tag: str) -> str:
    """What a worker's heartbeat says of an image the engine lacks; /healthz clears it once a build made the image."""
    return f"error: image {tag} missing"


@dataclass(frozen=True)
class BuildStatus:
    state: State
    tag: str
    runtime: str
    phase: str = ""  # the step under way: debootstrap, import, wheels, docker build
    percent: int = 0
    detail: str = ""  # what that step last said, shortened
    message: str = ""  # the error of a failed build
    pid: int = 0
    host: str = ""
    started_at: str = ""
    updated_at: str = ""

    @property
    def alive(self) -> bool:
        """Whether the process that writes this file still runs (always True for a finished build)."""
        if self.state != "building":
            return True
        if self.host == socket.gethostname() and self.pid > 0:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:  # it exists, under another user
                return True
            return True
        try:
            updated = datetime.fromisoformat(self.updated_at)
        except ValueError:
            return False
        return datetime.now(UTC) - updated < REMOTE_STALE_AFTER

    @property
    def building(self) -> bool:
        """A build is under way right now."""
        return self.state == "building" and self.alive

    def finished_after(self, moment: datetime) -> bool:
        """Whether this status was last written after `moment` (naive datetimes are taken as UTC)."""
        try:
            updated = datetime.fromisoformat(self.updated_at)
        except ValueError:
            return False
        return updated > (moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    def as_json(self) -> dict[str, Any]:
        """What /healthz shows: a dead build is reported as failed, with why."""
        data = {k: v for k, v in asdict(self).items() if k not in ("pid", "host")}
        if self.state == "building" and not self.alive:
            data.update(state="failed", message="the build process stopped before it finished")
        return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read(path: str | os.PathLike[str] | None) -> BuildStatus | None:
    """The status in `path`, or None when there is none (or it is unreadable: a reader never fails on it)."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        fields = {k: data[k] for k in BuildStatus.__dataclass_fields__ if k in data}
        status = BuildStatus(**fields)
    except (OSError, ValueError, TypeError):
        return None
    if status.state not in ("building", "ready", "failed"):
        return None
    return status


def write(path: str | os.PathLike[str], status: BuildStatus) -> BuildStatus:
    """Replace the file atomically, so that a reader sees the old status or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    status = replace(status, updated_at=_now())
    fd, tmp = tempfile.mkstemp(prefix=".sandbox-build-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(status), handle)
        os.chmod(tmp, 0o644)  # the web and the worker may run as other users than the build
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return status


def started(path: str | os.PathLike[str], tag: str, runtime: str) -> BuildStatus:
    """Record that this process starts building `tag`."""
    return write(
        path,
        BuildStatus(
            "building", tag, runtime, phase="starting", pid=os.getpid(), host=socket.gethostname(), started_at=_now()
        ),
    )
