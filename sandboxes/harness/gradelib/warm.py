"""A pooled container's harness: start the checker and the candidate interpreter, import torch and triton in
both, then wait for the one submission this container will ever grade (`grade.py --wait SECONDS`).

The backend created the container with the limits of its pool (`/grade/limits.json`, and `/grade/runtime.json`
on the GPU) and delivers the submission later, on the harness's stdin, and reads the result from its stdout
(delivery.py). From then on it is an ordinary grade, with the wall limit counted from the moment the layout was
written. The candidate process is the same fresh interpreter under the same user and limits as in a cold
container; only its start happened earlier.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
import time
from pathlib import Path

from . import channel, delivery, kinds
from .checker import EXIT_GRADED, EXIT_HARNESS_FAILURE, HarnessError, grade, write_results
from .context import WarmSlot
from .isolation import IsolationError, candidate_identity, make_scratch, remove_scratch
from .layout import Layout
from .limits import Limits
from .results import ERROR, GradeResult
from .runner import PRELOADABLE
from .runtime import Runtime, RuntimeConfigError, check_available
from .session import CandidateProcess

WARM_MARKER = "certplatform-harness: warm"  # on stderr once the candidate's imports are done
EXIT_UNUSED = 75  # waited the whole --wait without a submission; nothing was graded, nothing written
WARM_UP_SECONDS = 120.0
# The limits the container itself enforces: a pooled container serves only tasks whose values are equal.
CONTAINER_LIMITS = ("memory_mb", "pids", "cpus", "file_size_mb")


def run_warm(root: Path, *, wait_seconds: float, preload: tuple[str, ...], isolation: str, echo: bool) -> int:
    layout = Layout(root)
    try:
        unknown = sorted(set(preload) - PRELOADABLE)
        if unknown:
            raise HarnessError(f"cannot preload {', '.join(unknown)} (allowed: {', '.join(sorted(PRELOADABLE))})")
        pool_limits = Limits.load(layout.limits_file)
        kinds.load_builtin()
        for name in preload:
            importlib.import_module(name)
        proc = start_warm(layout, pool_limits, preload, isolation)
    except (
        HarnessError,
        IsolationError,
        RuntimeConfigError,
        channel.ProtocolError,
        channel.ChannelTimeout,
        channel.ChannelClosed,
        OSError,
        ValueError,
    ) as exc:
        return _failed(layout, f"harness error: warm start failed: {exc}", echo)
    print(WARM_MARKER, file=sys.stderr, flush=True)  # the backend reads this from the container's log
    slot = WarmSlot(proc)
    try:
        started = delivery.wait_for_layout(layout.root, wait_seconds, lambda: proc.proc.poll() is None)
    except (delivery.DeliveryError, OSError) as exc:
        slot.discard()
        return _failed(layout, f"harness error: the submission did not arrive whole: {exc}", echo)
    if started is None:
        slot.discard()
        return EXIT_UNUSED
    code = EXIT_GRADED
    try:
        limits = Limits.load(layout.limits_file)
        changed = [n for n in CONTAINER_LIMITS if getattr(limits, n) != getattr(pool_limits, n)]
        if changed:
            raise HarnessError(f"the task's limits differ from the container's in {', '.join(changed)}")
        result = grade(layout, limits=limits, isolation=isolation, started=started, warm=slot)
    except (
        HarnessError,
        IsolationError,
        RuntimeConfigError,
        channel.ProtocolError,
        channel.ChannelClosed,
        ValueError,
    ) as exc:
        code, result = EXIT_HARNESS_FAILURE, GradeResult(ERROR, 0.0, message=f"harness error: {exc}")
    except Exception as exc:
        code = EXIT_HARNESS_FAILURE
        result = GradeResult(ERROR, 0.0, message=f"harness error: {type(exc).__name__}: {exc}")
    finally:
        slot.discard()
    return _report(layout, code, result.to_json(), echo)


def start_warm(layout: Layout, limits: Limits, preload: tuple[str, ...], isolation: str) -> CandidateProcess:
    """A candidate process with its imports done, waiting for `load()`; its scratch is on the tempdir."""
    identity = candidate_identity(isolation)
    runtime = Runtime.load(layout.runtime_file)
    check_available(runtime)
    scratch = make_scratch(Path(tempfile.gettempdir()), identity)
    proc = CandidateProcess(
        submission=None,
        entry=None,
        scratch=scratch,
        identity=identity,
        limits=limits,
        runtime=runtime,
        preload=preload,
    )
    try:
        proc.start()
        proc.wait_warm(time.monotonic() + WARM_UP_SECONDS)
    except BaseException:
        if proc.proc is not None:
            proc.stop(graceful=False)
        remove_scratch(scratch, identity)
        raise
    return proc


def _failed(layout: Layout, message: str, echo: bool) -> int:
    return _report(layout, EXIT_HARNESS_FAILURE, GradeResult(ERROR, 0.0, message=message).to_json(), echo)


def _report(layout: Layout, code: int, text: str, echo: bool) -> int:
    """results.json, and the result line on stdout for the backend attached to it (delivery.py); the code."""
    with contextlib.suppress(OSError):
        write_results(layout, text)
    if echo:
        print(text, flush=True)
    sys.stdout.write(delivery.result_line(code, text))
    sys.stdout.flush()
    return code
