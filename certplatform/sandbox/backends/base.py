"""What every backend receives and returns, and how the /grade layout is assembled."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from certplatform.sandbox.kinds import TaskKind
from certplatform.sandbox.limits import Limits
from certplatform.sandbox.results import GradeResult


class BackendUnavailable(RuntimeError):
    """The backend cannot be used at all (misconfigured, refused); a grade attempt becomes not_gradable."""


@dataclass(frozen=True)
class GradeRequest:
    """One submission to grade: the code, its task's hidden tests folder on disk, the kind, runtime and limits."""

    code: str
    tests_dir: Path
    kind: TaskKind
    runtime: str
    limits: Limits
    label: str = ""  # e.g. "submission 42", for logs and container labels


class Backend(Protocol):
    name: str
    isolated: bool

    def grade(self, request: GradeRequest) -> GradeResult: ...

    def health(self) -> str:
        """ "ok" or "error: ..." (the workers' heartbeat)."""
        ...

    def pool_status(self) -> dict[str, Any] | None:
        """The warm-container pool of this process, None without one."""
        ...

    def warm_up(self, runtime: str, limits: Limits) -> None:
        """Keep sandboxes for these limits ready before the first grade asks (nothing without a pool)."""
        ...

    def reap(self) -> list[str]:
        """Remove this host's sandboxes whose owner process is gone; their ids."""
        ...


def layout_files(request: GradeRequest) -> dict[str, tuple[bytes, int]]:
    """Files of the /grade layout (grader contract, section 1): relative path -> (bytes, mode)."""
    files: dict[str, tuple[bytes, int]] = {
        f"submission/{request.kind.submission_name}": (request.code.encode("utf-8"), 0o644),
        "limits.json": (json.dumps(request.limits.as_dict()).encode(), 0o600),
    }
    for path in sorted(request.tests_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files[f"tests/{path.relative_to(request.tests_dir).as_posix()}"] = (path.read_bytes(), 0o600)
    return files


def layout_tar(request: GradeRequest) -> bytes:
    """The layout as a tar whose entries are all owned by root, as the contract requires for put_archive (a cold
    container) and for a pooled harness's stdin (gradelib/delivery.py)."""
    files = layout_files(request)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        dirs = sorted({p for name in files for p in Path(name).parents if str(p) != "."})
        for d in dirs:
            info = tarfile.TarInfo(d.as_posix())
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, 0, 0
            tar.addfile(info)
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, 0, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_layout(request: GradeRequest, root: Path) -> None:
    for name, (data, mode) in layout_files(request).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
