"""A pooled container's submission and result travel through its standard streams.

The backend attaches to the waiting container and writes one frame to the harness's stdin: an 8-byte big-endian
length, then the layout as a tar whose entries are directories and regular files (the same tar a cold container
receives with put_archive). The harness writes them under /grade as root, with the tar's modes. When the grade
is done it writes one line to stdout: RESULT_PREFIX, its exit code, a space, and the results JSON (one line:
JSON escapes newlines). The backend reads that line from the same attached stream, without waiting for the
container to exit or copying results.json out of it.

Only the harness holds these streams: the candidate process gets /dev/null for stdin and pipes to the checker
for its output (session.py), and cannot open the harness's descriptors through /proc under another user. The
hidden tests therefore reach the root checker only, and nothing the candidate prints can look like a result.
"""

from __future__ import annotations

import io
import os
import select
import struct
import tarfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

LENGTH = struct.Struct("!Q")
MAX_LAYOUT_BYTES = 64 << 20  # a submission's layout: the code, the hidden tests, the limits
RESULT_PREFIX = "certplatform-harness: result "
CHECK_SECONDS = 0.1  # while waiting, how often the harness checks that its warm candidate still lives


class DeliveryError(Exception):
    """The frame on stdin is not a layout the harness can write."""


def wait_for_layout(root: Path, wait_seconds: float, alive: Callable[[], bool], stdin: int = 0) -> float | None:
    """Write the layout that arrives on `stdin` under `root`; the monotonic time it was complete.

    None when nothing arrived within wait_seconds, stdin closed first, or `alive()` turned false while waiting
    (the warm candidate died): the container then ends without grading. DeliveryError for a broken frame."""
    deadline = time.monotonic() + wait_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not alive():
            return None
        readable, _, _ = select.select([stdin], [], [], min(left, CHECK_SECONDS))
        if readable:
            break
    head = _read(stdin, LENGTH.size, deadline)
    if head is None:
        return None  # closed with nothing sent: unused
    (size,) = LENGTH.unpack(head)
    if size > MAX_LAYOUT_BYTES:
        raise DeliveryError(f"a layout of {size} bytes is over the {MAX_LAYOUT_BYTES}-byte cap")
    data = _read(stdin, size, deadline)
    if data is None:
        raise DeliveryError("stdin closed in the middle of the layout")
    unpack(data, root)
    return time.monotonic()


def frame(tar: bytes) -> bytes:
    """What the backend writes to a pooled harness's stdin for this layout tar."""
    return LENGTH.pack(len(tar)) + tar


def unpack(data: bytes, root: Path) -> None:
    """Directories and regular files of the tar under root, owned by the harness (root), with the tar's modes."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                path = root / _relative(member.name)
                if member.isdir():
                    path.mkdir(mode=member.mode & 0o777, exist_ok=True)
                    os.chmod(path, member.mode & 0o777)
                elif member.isfile():
                    _write(path, tar.extractfile(member).read(), member.mode & 0o777)
                else:
                    raise DeliveryError(f"{member.name}: only directories and regular files are delivered")
    except tarfile.TarError as exc:
        raise DeliveryError(f"unreadable layout: {exc}") from None


def result_line(code: int, text: str) -> str:
    return f"{RESULT_PREFIX}{code} {text}\n"


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        raise DeliveryError(f"{name!r} is not a path inside the layout")
    return path


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)  # an existing file (the pool's limits.json) keeps its old mode through os.open


def _read(fd: int, size: int, deadline: float) -> bytes | None:
    """Exactly size bytes, or None when the stream ends first; DeliveryError past the deadline."""
    chunks, remaining = [], size
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError("the layout did not arrive in time")
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            continue
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
