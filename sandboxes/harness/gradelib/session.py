"""The checker's handle on one candidate process: start it as the candidate user, talk to it, capture its
output, and make sure nothing of it survives."""

from __future__ import annotations

import functools
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import channel
from .isolation import (
    TOKEN_VAR,
    Identity,
    child_setup,
    count_processes_of,
    cpu_seconds,
    kill_candidate,
    signal_processes,
)
from .limits import Limits
from .runtime import Runtime

HARNESS_DIR = Path(__file__).resolve().parent.parent


class _Capture(threading.Thread):
    """Drain one pipe, keep the first `keep` bytes, count the rest; flag a flood past `hard_cap`."""

    def __init__(self, pipe, keep: int, hard_cap: int, on_flood):
        super().__init__(daemon=True)
        self.pipe, self.keep, self.hard_cap, self.on_flood = pipe, keep, hard_cap, on_flood
        self.head = bytearray()
        self.total = 0

    def run(self) -> None:
        flooded = False
        while True:
            try:
                chunk = self.pipe.read1(1 << 16)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            self.total += len(chunk)
            if len(self.head) < self.keep:
                self.head += chunk[: self.keep - len(self.head)]
            if self.total > self.hard_cap and not flooded:
                flooded = True
                self.on_flood()

    def text(self) -> str:
        text = self.head.decode("utf-8", errors="replace")
        if self.total > len(self.head):
            text += f"\n[... {self.total - len(self.head)} more bytes truncated]"
        return text


@dataclass
class Exit:
    returncode: int | None
    leftover: int  # processes still alive after the candidate process ended, killed by the harness
    flooded: bool


class CandidateProcess:
    def __init__(
        self,
        *,
        submission: Path | None,
        entry: str | None,
        scratch: Path,
        identity: Identity,
        limits: Limits,
        runtime: Runtime | None = None,
        runner: str = "run_candidate.py",
        functions: tuple[str, ...] = (),
        preload: tuple[str, ...] = (),
    ):
        """With `submission` None the process starts warm: it imports torch, triton and `preload`, then waits
        for `load()` (a pooled container's candidate, started before its one submission arrives)."""
        self.submission, self.entry, self.scratch = submission, entry, scratch
        self.functions = tuple(functions)  # the task's other functions the checker may call (a config function)
        self.runner = runner  # entry script at the top of the harness (plain kinds: run_plan_candidate.py)
        self.identity, self.limits = identity, limits
        self.runtime = runtime or Runtime()
        self.preload = tuple(preload)
        self.token = secrets.token_hex(16)
        self.flooded = False
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None

    # -- life cycle ------------------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The candidate's whole environment, built from scratch: nothing of the checker's leaks in except, on the
        GPU, the driver's variables (runtime.CUDA_PASSTHROUGH_VARS)."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.scratch),
            "TMPDIR": str(self.scratch),
            "LANG": "C.UTF-8",
            "TRITON_INTERPRET": "1",
            "TRITON_CACHE_DIR": str(self.scratch / ".triton"),
            "TRITON_HOME": str(self.scratch),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "random",
            "OMP_NUM_THREADS": str(max(1, int(self.limits.cpus))),
            "MKL_NUM_THREADS": "1",
            "CERTPLATFORM_CPUS": str(max(1, int(self.limits.cpus))),
            TOKEN_VAR: self.token,
        }
        if not self.runtime.interpreted:
            # Compiled kernels on the GPU: no interpreter, plus the driver's environment (runtime.py).
            del env["TRITON_INTERPRET"]
            env.update(self.runtime.candidate_env(dict(os.environ)))
        return env

    def start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = self.environment()
        nproc_base = 0 if self.identity.isolated else count_processes_of(self.identity.uid)
        kwargs = {}
        if self.identity.isolated:
            kwargs = {"user": self.identity.uid, "group": self.identity.gid, "extra_groups": []}
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv: our interpreter and our runner
            [
                sys.executable,
                "-E",
                "-s",
                "-B",
                str(HARNESS_DIR / self.runner),
                str(child.fileno()),
                *self._arguments(),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(child.fileno(),),
            start_new_session=True,
            preexec_fn=functools.partial(
                child_setup, self.limits, nproc_base, self.scratch, limit_address_space=self.runtime.interpreted
            ),
            **kwargs,
        )
        child.close()
        self.sock = parent
        keep, hard = self._output_caps()
        self.out = _Capture(self.proc.stdout, keep, hard, self._flood)
        self.err = _Capture(self.proc.stderr, keep, hard, self._flood)
        self.out.start()
        self.err.start()

    def _arguments(self) -> list[str]:
        if self.submission is None:
            return ["--warm", *self.preload]
        return [str(self.submission), self.entry, *self.functions]

    def _output_caps(self) -> tuple[int, int]:
        keep = int(self.limits.output_kb * 1024)
        return keep, max(1 << 20, 16 * keep)

    def wait_warm(self, deadline: float) -> None:
        """Until a warm process has its imports done; raises channel errors when it cannot get there."""
        header, _ = self.request(None, (), deadline)
        if header.get("type") != "warm":
            raise channel.ProtocolError(f"expected a warm process, got {header.get('type')!r}: {header.get('error')}")

    def load(self, submission: Path, entry: str, functions: tuple[str, ...], limits: Limits) -> None:
        """Give a warm process its submission and the task's own limits: its output caps here, and the CPU
        limit, which the process lowers on itself before it imports the submission (the pool started it with
        the container's, not the task's). The container-level limits are the same by construction (pool key)."""
        self.submission, self.entry, self.functions, self.limits = submission, entry, tuple(functions), limits
        keep, hard = self._output_caps()
        for capture in (self.out, self.err):
            capture.keep, capture.hard_cap = keep, hard
        header = {
            "type": "load",
            "submission": str(submission),
            "entry": entry,
            "functions": list(self.functions),
            "cpu_seconds": cpu_seconds(limits),
        }
        try:
            channel.send(self.sock, header)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise channel.ChannelClosed(str(exc)) from None

    def _flood(self) -> None:
        self.flooded = True
        self._kill()

    def request(self, header: dict | None, blobs=(), deadline: float | None = None):
        """Send a message (unless header is None) and wait for the reply until deadline (monotonic)."""
        try:
            if header is not None:
                channel.send(self.sock, header, blobs)
            return channel.recv(self.sock, deadline)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise channel.ChannelClosed(str(exc)) from None

    def stop(self, graceful: bool = True) -> Exit:
        """End the candidate process and everything it started; report what had to be killed afterwards."""
        if graceful and self.proc.poll() is None:
            try:
                channel.send(self.sock, {"type": "exit"})
                _ends_within(self.proc, 5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self._kill()
        returncode = self.proc.wait()
        # Whatever it forked is in /proc already (a fork is complete before the parent can exit), and the sweep
        # counts and kills until none is left.
        leftover = kill_candidate(self.identity, self.token)
        self.out.join(timeout=5)
        self.err.join(timeout=5)
        self.sock.close()
        for pipe in (self.proc.stdout, self.proc.stderr):
            pipe.close()
        return Exit(returncode, leftover, self.flooded)

    def _kill(self) -> None:
        if self.proc is None:
            return
        signal_processes(self.identity, [self.proc.pid], signal.SIGKILL, group=self.proc.pid)

    @property
    def stdout(self) -> str:
        return self.out.text()

    @property
    def stderr(self) -> str:
        return self.err.text()


def _ends_within(proc: subprocess.Popen, seconds: float) -> None:
    """Until proc has ended or `seconds` passed. A pidfd says so the moment it ends; Popen.wait with a timeout
    looks again only every few tens of milliseconds, and every grade waits like this once."""
    try:
        fd = os.pidfd_open(proc.pid)
    except OSError:  # already reaped, or no pidfd here
        proc.wait(timeout=seconds)
        return
    try:
        select.select([fd], [], [], seconds)
    finally:
        os.close(fd)
