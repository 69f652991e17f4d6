"""Process and user separation: who the candidate runs as, what it may touch, and cleaning up after it.

In the container the harness starts as root with only CAP_SETUID/CAP_SETGID (plus the default file
capabilities the engine leaves after --cap-drop ALL) and no-new-privileges. It keeps the hidden paths
root-owned and 0700, and starts the candidate process with real, effective and saved uid/gid all set to the
candidate user, so the candidate can neither read them nor regain root. Running as a plain user (the `process`
backend), none of this is possible: the harness says so in the result instead of pretending.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import resource
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .candidate_user import CANDIDATE_UID, CANDIDATE_USER, USER_VAR
from .limits import Limits

TOKEN_VAR = "CERTPLATFORM_GRADE_TOKEN"  # noqa: S105 - a variable name, not a secret
PR_SET_NO_NEW_PRIVS = 38

# Loaded here, not in the forked child: dlopen between fork and exec can deadlock in a threaded parent.
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - libc is always there on Linux
    _LIBC = None


class IsolationError(Exception):
    """Isolation was required but cannot be established."""


@dataclass(frozen=True)
class Identity:
    """Who the candidate process runs as; isolated is False when no privilege drop happens."""

    uid: int
    gid: int
    isolated: bool
    note: str = ""


def candidate_identity(mode: str) -> Identity:
    """mode: 'require' (fail unless root), 'auto' (drop when root), 'off' (never drop)."""
    if mode not in ("require", "auto", "off"):
        raise ValueError(f"unknown isolation mode {mode!r}")
    euid = os.geteuid()
    if mode != "off" and euid == 0:
        name = os.environ.get(USER_VAR) or CANDIDATE_USER
        try:
            entry = pwd.getpwnam(name)
            uid, gid = entry.pw_uid, entry.pw_gid
        except KeyError:
            if name != CANDIDATE_USER:
                raise IsolationError(f"the candidate user {name!r} named by {USER_VAR} does not exist") from None
            uid = gid = CANDIDATE_UID
        if uid == 0:
            raise IsolationError("the candidate user must not be root")
        return Identity(uid, gid, True)
    if mode == "require":
        raise IsolationError(f"isolation required but the harness runs as uid {euid}, not root")
    reason = "isolation disabled" if mode == "off" else f"harness not running as root (uid {euid})"
    return Identity(
        euid,
        os.getegid(),
        False,
        f"not isolated: {reason}; candidate code ran as the same user as the checker",
    )


def lock_down(paths: tuple[Path, ...] | list[Path]) -> None:
    """Make hidden paths root-only (0700 dirs, 0600 files) so the candidate user cannot read or write them.

    In the container root has no CAP_CHOWN/CAP_FOWNER, so this only works on files the backend copied in owned by
    uid 0 (an owner may always chmod); anything else is an infrastructure error, never a silent leak."""
    for path in paths:
        if not path.exists() and not path.is_symlink():
            continue
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            if item.is_symlink():
                raise IsolationError(f"{item} is a symlink; hidden files must be plain files and folders")
            st = item.lstat()
            try:
                if (st.st_uid, st.st_gid) != (0, 0):
                    os.chown(item, 0, 0)
                os.chmod(item, 0o700 if item.is_dir() else 0o600)
            except PermissionError:
                raise IsolationError(
                    f"cannot make {item} root-only (owned by uid {st.st_uid}); copy hidden files in as uid 0"
                ) from None


def readable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether a process with this uid/gid (no supplementary groups) could open path or list it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    mode = st.st_mode
    if st.st_uid == uid:
        return bool(mode & stat.S_IRUSR)
    if st.st_gid == gid:
        return bool(mode & stat.S_IRGRP)
    return bool(mode & stat.S_IROTH)


def make_scratch(base: Path, identity: Identity) -> Path:
    """A private working directory for the candidate (its cwd and HOME), on the container's tmpfs.

    Created by a helper running as the candidate: in the container root lacks CAP_CHOWN and CAP_DAC_OVERRIDE."""
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(os.path.realpath(base)) / f"candidate-{os.getpid()}-{time.monotonic_ns()}"
    if identity.isolated:
        if not as_candidate(identity, lambda: os.mkdir(scratch, 0o700)):
            raise IsolationError(f"the candidate user cannot create {scratch} (is {base} world-writable?)")
    else:
        scratch.mkdir(mode=0o700)
    return scratch


def container_init() -> bool:
    """Whether the harness is the init of a container's pid namespace: the container ends when it does, and its
    scratch files (on the container's own tmpfs) go with it."""
    return os.getpid() == 1


def remove_scratch(scratch: Path, identity: Identity) -> None:
    """Delete the scratch directory as its owner (root may not be able to look inside it); nothing to do in a
    container, whose files end with it a moment later (a helper forked from the checker costs tens of ms)."""
    import shutil

    if container_init():
        return
    if identity.isolated:
        as_candidate(identity, lambda: shutil.rmtree(scratch, ignore_errors=True))
    shutil.rmtree(scratch, ignore_errors=True)


def as_candidate(identity: Identity, action) -> bool:
    """Run action() in a forked helper with the candidate's uid/gid; True when it returned without raising."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgroups([])
            os.setgid(identity.gid)
            os.setuid(identity.uid)
            action()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def child_setup(limits: Limits, nproc_base: int, cwd: Path, limit_address_space: bool = True) -> None:
    """Runs in the candidate child after the uid/gid drop and before exec (subprocess preexec_fn).

    limit_address_space is False on a GPU: the CUDA driver reserves virtual address space for unified memory far
    beyond any RLIMIT_AS and fails to initialise under one; the cgroup memory limit still bounds host memory."""
    # Here rather than Popen(cwd=...): subprocess changes directory before dropping privileges, and root in the
    # container (no CAP_DAC_OVERRIDE) may not enter the candidate's 0700 scratch directory.
    os.chdir(cwd)
    os.umask(0o077)
    soft_cpu = cpu_seconds(limits)
    _setrlimit(resource.RLIMIT_CPU, soft_cpu, soft_cpu + 5)
    _setrlimit(resource.RLIMIT_FSIZE, limits.file_size_mb << 20)
    _setrlimit(resource.RLIMIT_CORE, 0)
    _setrlimit(resource.RLIMIT_NOFILE, 256)
    # RLIMIT_NPROC counts every task of the real uid: in the container that is only the candidate's; as a
    # plain user it includes the developer's own processes, hence the base.
    _setrlimit(resource.RLIMIT_NPROC, nproc_base + limits.pids)
    # Address space: torch maps a lot of virtual memory up front, so the limit is generous; the container's
    # cgroup memory limit is the real one.
    if limit_address_space:
        _setrlimit(resource.RLIMIT_AS, (limits.memory_mb + 4096) << 20)
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def cpu_seconds(limits: Limits) -> int:
    """The candidate's RLIMIT_CPU (soft; the hard limit is 5 s above): about wall time x cpus."""
    return int(limits.wall_seconds * max(1.0, limits.cpus)) + 5


def _setrlimit(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    try:
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def count_processes_of(uid: int) -> int:
    return sum(1 for _ in _processes(lambda pid, st_uid: st_uid == uid))


def candidate_processes(identity: Identity, token: str) -> list[int]:
    """Live processes of this grade's candidate, and never anyone else's.

    A process counts when it runs as the candidate uid, in our pid namespace, and carries this grade's token in its
    environment. Inside the container root cannot read another uid's environment (no CAP_SYS_PTRACE); there the uid is
    dedicated to this one grade, so an unreadable environment counts as ours. As a plain user or as root on a shared
    host (the process backend, the tests), the token keeps concurrent grades and docker containers, whose processes
    can show the same uid, out of the sweep."""
    me = os.getpid()
    needle = f"{TOKEN_VAR}={token}".encode()
    own_ns = _pid_namespace("self")
    found = []
    for pid in _processes(lambda pid, st_uid: st_uid == identity.uid):
        if pid == me:
            continue
        ns = _pid_namespace(str(pid))
        if ns is not None and own_ns is not None and ns != own_ns:
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except PermissionError:
            if identity.isolated:
                found.append(pid)
            continue
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(pid)
    return found


def kill_candidate(identity: Identity, token: str, rounds: int = 50) -> int:
    """Kill every candidate process (fork bombs included); returns how many were alive when called."""
    alive = candidate_processes(identity, token)
    if identity.isolated and alive and container_init():
        # As the init of the container's own pid namespace, kill(-1) as the candidate uid reaches every candidate
        # process in one call, which outruns a fork loop; outside that namespace it would reach other containers.
        as_candidate(identity, lambda: os.kill(-1, signal.SIGKILL))
    for _ in range(rounds):
        pids = candidate_processes(identity, token)
        if not pids:
            break
        # Stop them all first so that none can fork while the others are being killed.
        signal_processes(identity, pids, signal.SIGSTOP)
        signal_processes(identity, pids, signal.SIGKILL)
        time.sleep(0.02)
    if container_init():
        _reap()  # as the container's init, orphans of the candidate are re-parented to us
    return len(alive)


def signal_processes(identity: Identity, pids: list[int], sig: int, group: int | None = None) -> None:
    """Send sig to pids (and to process group `group`). Root in the container has no CAP_KILL, so when isolated the
    signals are sent by a helper running as the candidate uid, which may signal its own processes."""

    def send() -> None:
        if group is not None:
            _kill(lambda: os.killpg(group, sig))
        for pid in pids:
            _kill(lambda pid=pid: os.kill(pid, sig))

    if identity.isolated:
        as_candidate(identity, send)
    else:
        send()


def _pid_namespace(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _kill(action) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        action()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _processes(keep):
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        state = uid = None
        for line in status.splitlines():
            if line.startswith("State:"):
                state = line.split()[1]
            elif line.startswith("Uid:"):
                uid = int(line.split()[1])
                break
        if uid is None or state in ("Z", "X"):
            continue
        if keep(int(entry.name), uid):
            yield int(entry.name)
