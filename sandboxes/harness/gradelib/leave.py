"""How the harness's processes end once their work is done and said: at once.

An interpreter that has imported torch and triton spends most of a second (more after running kernels) tearing
its modules down at a normal exit, and a grade waits for two of them, the candidate's and the checker's. Nothing
that teardown does is needed: the results are written and closed, the candidate's process is thrown away, and
the candidate's own exit handlers must not run after the checker asked it to stop. The buffered output is
flushed first, so nothing the process printed is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys


def leave(code: int | None) -> None:
    """Flush stdout and stderr and end the process with `code`, skipping the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr):
        # Closed or replaced by the submission: nothing to flush.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(0 if code is None else code)
