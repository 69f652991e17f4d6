"""A pooled harness's stdin frame and stdout result line (gradelib/delivery.py), against the backend's layout."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import threading
import time
from pathlib import Path

import pytest
from gradelib import delivery

from certplatform.sandbox import kinds
from certplatform.sandbox.backends.base import GradeRequest, layout_tar, write_layout
from certplatform.sandbox.backends.docker_backend import RESULT_PREFIX
from certplatform.sandbox.limits import Limits

LIMITS = Limits(wall_seconds=60, memory_mb=2048, pids=128, cpus=1.5, file_size_mb=16, output_kb=64)


def _request(tmp_path: Path) -> GradeRequest:
    tests = tmp_path / "task-tests"
    (tests / "data").mkdir(parents=True)
    (tests / "cases.py").write_text("CASES = 1\n")
    (tests / "data" / "x.bin").write_bytes(b"\x00\x01")
    return GradeRequest(
        code="def f(): pass\n", tests_dir=tests, kind=kinds.get("triton_op"), runtime="triton-cpu", limits=LIMITS
    )


def _tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    found = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        found[path.relative_to(root).as_posix()] = (mode, path.read_bytes() if path.is_file() else None)
    return found


def _pipe_with(data: bytes, close: bool = True) -> int:
    read_end, write_end = os.pipe()

    def feed() -> None:
        os.write(write_end, data)
        if close:
            os.close(write_end)

    threading.Thread(target=feed, daemon=True).start()
    return read_end


def _tar(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return buffer.getvalue()


def test_the_frame_writes_what_a_cold_layout_holds(tmp_path: Path) -> None:
    request = _request(tmp_path)
    written, delivered = tmp_path / "written", tmp_path / "delivered"
    written.mkdir()
    delivered.mkdir()
    write_layout(request, written)
    (delivered / "limits.json").write_text("{}")  # the pool's limits, replaced by the task's
    os.chmod(delivered / "limits.json", 0o644)
    before = time.monotonic()
    stdin = _pipe_with(delivery.frame(layout_tar(request)))
    started = delivery.wait_for_layout(delivered, 5, lambda: True, stdin=stdin)
    assert started is not None and started >= before
    files = {k: v for k, v in _tree(delivered).items() if v[1] is not None}
    assert files == {k: v for k, v in _tree(written).items() if v[1] is not None}
    assert files["tests/cases.py"][0] == 0o600 and files["limits.json"][0] == 0o600


def test_nothing_arrives_closed_or_dead(tmp_path: Path) -> None:
    assert delivery.wait_for_layout(tmp_path, 5, lambda: True, stdin=_pipe_with(b"")) is None
    assert delivery.wait_for_layout(tmp_path, 0.3, lambda: True, stdin=_pipe_with(b"", close=False)) is None
    started = time.monotonic()
    assert delivery.wait_for_layout(tmp_path, 30, lambda: False, stdin=_pipe_with(b"", close=False)) is None
    assert time.monotonic() - started < 5  # a dead warm candidate ends the wait at once
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (delivery.LENGTH.pack(delivery.MAX_LAYOUT_BYTES + 1), "over the"),
        (delivery.LENGTH.pack(100) + b"short", "closed in the middle"),
        (delivery.frame(b"not a tar" * 100), "unreadable layout"),
    ],
)
def test_a_broken_frame_is_refused(tmp_path: Path, data: bytes, error: str) -> None:
    with pytest.raises(delivery.DeliveryError, match=error):
        delivery.wait_for_layout(tmp_path, 5, lambda: True, stdin=_pipe_with(data))


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, size if kind == tarfile.REGTYPE else 0, 0o644
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    return info


@pytest.mark.parametrize(
    "member",
    [_member("../outside"), _member("/abs"), _member("tests/../../x"), _member("link", tarfile.SYMTYPE)],
)
def test_only_files_and_directories_inside_the_layout_are_written(tmp_path: Path, member) -> None:
    root = tmp_path / "grade"
    root.mkdir()
    with pytest.raises(delivery.DeliveryError):
        delivery.unpack(_tar(member), root)
    assert list(root.iterdir()) == [] and not (tmp_path / "outside").exists()


def test_a_symlink_planted_in_the_layout_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "grade"
    root.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (root / "limits.json").symlink_to(target)
    with pytest.raises(OSError):
        delivery.unpack(_tar(_member("limits.json")), root)
    assert target.read_text() == "keep"


def test_the_result_line_is_what_the_backend_reads() -> None:
    line = delivery.result_line(0, '{"status": "passed", "message": "a\\nb"}')
    assert line.count("\n") == 1 and line.encode().startswith(RESULT_PREFIX)
    code, _, text = line.encode()[len(RESULT_PREFIX) :].rstrip(b"\n").partition(b" ")
    assert (code, text) == (b"0", b'{"status": "passed", "message": "a\\nb"}')
