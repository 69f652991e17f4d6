"""The candidate side of timing on the GPU runtime: call the entry point repeatedly under the guard and report
the samples, the inputs as they are afterwards and the last output, for the checker to re-check.

Runs in the candidate process, so the samples are as trustworthy as the guards (tamper-evident): the checker
validates them, re-checks inputs and output, and the speedup flag and the mentor review catch the rest.
Timings are reported, never scored.
"""

from __future__ import annotations

import torch

from . import guards, timing
from .call_inputs import build_args, violations
from .candidate_loop import describe
from .channel import dtype_name, tensor_bytes


def time_call(fn, header: dict, blobs: list[bytes], guard, clock, before, submission: str):
    args, kwargs, buffers, _apply = build_args(header, blobs, "cuda")
    budget_s = float(header.get("budget_s", 2.0))
    last: list[object] = []
    counts = {"calls": 0, "idle": 0}

    def once() -> None:
        launches = guard.record.launches
        last[:] = [fn(*args, **kwargs)]
        counts["calls"] += 1
        if guard.record.launches == launches:
            counts["idle"] += 1  # a call that launched nothing returned something it had computed before

    guard.reset()
    guard.pad = False
    samples: list[float] = []
    error = None
    guard_ok = True
    try:
        with guard:
            try:
                samples = timing.measure(once, clock, budget_s=budget_s)
            finally:
                guard_ok = guards.guard_is_current(guard)
    except BaseException as exc:
        error = describe(exc, submission)
    finally:
        guard.pad = True
    record = guard.reset()
    reply = {
        "type": "timing",
        "samples": samples,
        "calls": counts["calls"],
        "idle_calls": counts["idle"],
        "error": error,
        "violations": violations(record, before, guard_ok, "phase.timing"),
        "output": None,
    }
    out_blobs = [tensor_bytes(b) for b in buffers]
    out = last[0] if last else None
    if error is None and type(out) is torch.Tensor and out.layout == torch.strided:
        try:
            reply["output"] = {"dtype": dtype_name(out.dtype), "shape": list(out.shape), "blob": len(out_blobs)}
            out_blobs.append(tensor_bytes(out))
        except Exception as exc:
            reply["output"] = None
            reply["error"] = f"returned an unsupported tensor: {exc}"
    return reply, out_blobs
