"""What every candidate process does around its calls: import the submission, look up the task's functions, tell
the checker it is ready (or why it is not), then answer one request at a time until the checker stops asking.

runner.py (Triton kinds: the import and every call under the guards) and plan_runner.py (plain-Python plans)
differ only in how they import and in what answering a request means; both run this loop.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import traceback
from collections.abc import Callable

from . import channel

MAX_ERROR_CHARS = 3_000

# answer(header, blobs) -> (reply header, reply blobs), or None to end the process.
Answer = Callable[[dict, list], "tuple[dict, list] | None"]


def describe(exc: BaseException, submission: str) -> str:
    """The exception and the submission's own frames of its traceback (never the harness's)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission]
    lines = [f"  line {f.lineno}, in {f.name}: {f.line}" for f in frames[-5:]]
    cause = exc.__cause__
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None and type(exc).__name__ == "InterpreterError":
        text += f" (caused by {type(cause).__name__}: {cause})"
    if lines:
        text += "\n" + "\n".join(lines)
    return text[:MAX_ERROR_CHARS]


def import_submission(path: str, guard=None):
    """(module, None), or (None, why it could not be imported); the module runs inside `guard` when given."""
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("submission", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        with guard if guard is not None else contextlib.nullcontext():
            spec.loader.exec_module(module)
        return module, None
    except BaseException as exc:
        return None, describe(exc, path)


def open_submission(
    sock: socket.socket, path: str, names, guard=None, violations: Callable[[], list] = list
) -> dict | None:
    """Import the submission and find the functions `names` (the entry first). Sends the checker `ready`, with
    what `violations()` saw during the import, and returns the functions; or sends `import_error` and returns
    None."""
    module, error = import_submission(path, guard)
    seen = violations()
    functions: dict = {}
    if error is None:
        functions = {name: getattr(module, name, None) for name in names}
        missing = [name for name, value in functions.items() if not callable(value)]
        if missing:
            error = f"the submission defines no function named {missing[0]!r}"
    if error is not None:
        channel.send(sock, {"type": "import_error", "error": error, "violations": seen})
        return None
    channel.send(sock, {"type": "ready", "violations": seen})
    return functions


def serve(sock: socket.socket, answer: Answer) -> int:
    """Answer the checker's requests in order until it sends one that `answer` declines (or closes)."""
    while True:
        header, blobs = channel.recv(sock)
        out = answer(header, blobs)
        if out is None:
            return 0
        channel.send(sock, *out)
