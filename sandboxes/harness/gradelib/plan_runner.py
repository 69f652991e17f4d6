"""The candidate process of a plain-Python kind: import the submission, then answer calls with JSON data.

Each call carries JSON arguments (fresh objects every time, so nothing the candidate mutates reaches the checker)
and returns the function's result as JSON. The checker decides everything; this process never sees an expected
value or the seed.
"""

from __future__ import annotations

import json
import math
import socket
import time

from .candidate_loop import describe as _describe

MAX_OUTPUT_BYTES = 512 << 10


def main(argv: list[str]) -> int:
    fd, submission, entry = int(argv[0]), argv[1], argv[2]
    sock = socket.socket(fileno=fd)
    from . import candidate_loop

    functions = candidate_loop.open_submission(sock, submission, (entry,))
    if functions is None:
        return 0

    def answer(header: dict, _blobs: list):
        if header.get("type") != "call":
            return None
        return _call(functions[entry], header.get("args") or [], submission), []

    return candidate_loop.serve(sock, answer)


def _jsonable(value, depth: int = 0):
    """The JSON subset the checker accepts: dict (str keys), list/tuple, str, int, float (finite), bool, None."""
    if depth > 20:
        raise ValueError("nested too deeply")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r}")
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("dict keys must be strings")
        return {k: _jsonable(v, depth + 1) for k, v in value.items()}
    raise ValueError(f"{type(value).__name__} is not JSON data")


def _call(fn, args: list, submission: str) -> dict:
    reply = {"type": "result", "error": None, "output": None, "output_problem": None}
    started = time.perf_counter()
    try:
        out = fn(*args)
    except BaseException as exc:
        reply["error"] = _describe(exc, submission)
        if isinstance(exc, MemoryError):
            reply["resource"] = True
        reply["elapsed"] = time.perf_counter() - started
        return reply
    reply["elapsed"] = time.perf_counter() - started
    try:
        data = _jsonable(out)
        if len(json.dumps(data)) > MAX_OUTPUT_BYTES:
            raise ValueError(f"larger than {MAX_OUTPUT_BYTES // 1024} KB")
        reply["output"] = data
    except (ValueError, RecursionError) as exc:
        reply["output_problem"] = str(exc)  # worded by the checker (plan.not_json)
    return reply
