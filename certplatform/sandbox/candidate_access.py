"""Can the candidate user run the process backend's interpreter and read its harness? Asked by the health check
and after a grade that did not come through.

Run as root, the harness drops the candidate's code to an unprivileged user (uid 10001, sandboxes/harness). An
interpreter under a private home directory (pyenv in /root, mode 0700) cannot be started by that user, and every
grading would end in a raw PermissionError; here the problem is found, by starting the interpreter as that user
for real, and named with what to do about it instead of the traceback.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from certplatform.sandbox import grader_messages
from certplatform.sandbox.harness_data import load

# The harness's candidate user (sandboxes/harness/gradelib/candidate_user.py): the account named so (or named by
# CERTPLATFORM_CANDIDATE_USER), else this uid.
_ACCOUNT = load("candidate_user")
CANDIDATE_USER: str = _ACCOUNT.CANDIDATE_USER
CANDIDATE_UID: int = _ACCOUNT.CANDIDATE_UID
USER_VAR: str = _ACCOUNT.USER_VAR
_PROBE = "import sys; open(sys.argv[1], 'rb').close()"


@dataclass(frozen=True)
class AccessProblem:
    """What the candidate user cannot reach, and the directory (or file) in the way."""

    kind: Literal["interpreter", "harness"]
    path: str
    blocked: str
    mode: str
    uid: int
    detail: str = ""

    def summary(self) -> str:
        """One short line for /healthz and logs, the fix first (a heartbeat keeps 200 characters)."""
        if self.kind == "interpreter":
            fix = "set SANDBOX_PYTHON=/usr/bin/python3 or a venv made from the system Python"
            return f"{fix}: uid {self.uid} cannot run {self.path} ({self.blocked} is mode {self.mode})"
        fix = "move the checkout out of the private directory or use the docker backend"
        return f"{fix}: uid {self.uid} cannot read {self.path} ({self.blocked} is mode {self.mode})"

    def parts(self) -> list[dict]:
        """The message as a code with its arguments, worded in each reader's language when shown
        (grader_messages): stored with a submission, it reads in Chinese to a Chinese candidate and in English to
        the operator."""
        code = "host.no_interpreter" if self.kind == "interpreter" else "host.no_harness"
        args = {"uid": self.uid, "path": self.path, "blocked": self.blocked, "mode": self.mode}
        return [{"code": code, "args": args}]

    def message(self) -> str:
        """The message in English, as a submission stores its text next to the codes."""
        return grader_messages.english(self.parts())


def candidate_ids() -> tuple[int, int] | None:
    """The uid and gid the harness would drop to; None when it drops to nobody (not running as root)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(os.environ.get(USER_VAR) or CANDIDATE_USER)
        return entry.pw_uid, entry.pw_gid
    except KeyError:  # a named user that is missing: the harness itself refuses to grade and says why
        return CANDIDATE_UID, CANDIDATE_UID


def _allows(st: os.stat_result, uid: int, gid: int, bits: int) -> bool:
    """Whether uid/gid (no supplementary groups) has all of `bits` (an rwx triple, 4/2/1) on this inode."""
    if st.st_uid == uid:
        granted = (st.st_mode >> 6) & 7
    elif st.st_gid == gid:
        granted = (st.st_mode >> 3) & 7
    else:
        granted = st.st_mode & 7
    return granted & bits == bits


def blocking_path(path: str | os.PathLike[str], uid: int, gid: int, file_bits: int) -> Path | None:
    """The first directory on the way to `path` (or the file itself) that uid/gid may not pass, following links."""
    pending = [Path(os.path.abspath(path))]
    seen: set[Path] = set()
    while pending:
        target = pending.pop()
        if target in seen:
            continue
        seen.add(target)
        current = Path("/")
        for part in target.parts[1:]:
            try:
                st = os.stat(current)
            except OSError:
                return current
            if not _allows(st, uid, gid, 1):
                return current
            current = current / part
            if current.is_symlink():
                link = Path(os.readlink(current))
                pending.append(Path(os.path.normpath(current.parent / link)))
                break
        else:
            try:
                st = os.stat(current)
            except OSError:
                return current
            if not _allows(st, uid, gid, file_bits):
                return current
    return None


def _mode(path: Path) -> str:
    try:
        return oct(stat.S_IMODE(os.stat(path).st_mode))[2:].zfill(4)
    except OSError:
        return "?"


def check(python: str, harness_file: Path, ids: tuple[int, int] | None = None) -> AccessProblem | None:
    """None when the candidate user (or the uid and gid `ids`) can start `python` and read `harness_file` (or no
    drop happens)."""
    ids = ids or candidate_ids()
    if ids is None:
        return None
    uid, gid = ids
    try:
        # The harness starts the candidate's process like this (gradelib/session.py), so this is the real test.
        proc = subprocess.run(  # noqa: S603 - the configured interpreter, a fixed probe
            [python, "-E", "-s", "-B", "-c", _PROBE, str(harness_file)],
            user=uid,
            group=gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd="/",
            capture_output=True,
            timeout=60,
            check=False,
        )
    except PermissionError as exc:
        blocked = blocking_path(python, uid, gid, 5) or Path(python)
        return AccessProblem("interpreter", python, str(blocked), _mode(blocked), uid, str(exc))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return AccessProblem("interpreter", python, python, _mode(Path(python)), uid, str(exc))
    if proc.returncode == 0:
        return None
    stderr = proc.stderr.decode(errors="replace")
    harness_blocked = blocking_path(harness_file, uid, gid, 4)
    if harness_blocked is not None and str(harness_file) in stderr:
        return AccessProblem("harness", str(harness_file), str(harness_blocked), _mode(harness_blocked), uid, stderr)
    # It started but could not load itself (its standard library or site-packages out of reach).
    blocked = blocking_path(python, uid, gid, 5) or Path(python)
    return AccessProblem("interpreter", python, str(blocked), _mode(blocked), uid, stderr[-500:])
