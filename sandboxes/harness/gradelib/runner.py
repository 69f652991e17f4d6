"""The candidate process: imports the submission under the guards, then answers the checker's calls one at a
time.

It receives inputs over the socket the checker created, calls the entry point, and sends back the output, the
input buffers as they are after the call, and what the guards saw. It never sees a reference, a tolerance or
the seed, and it produces no verdict: the checker decides everything in its own process.
"""

from __future__ import annotations

import os
import socket
import time
import warnings

# What a warm process may import before the snapshot beyond what it always imports: the modules a submission
# may import (static_scan.ALLOWED_MODULES), nothing a submission could not reach anyway.
PRELOADABLE = frozenset({"torch", "triton", "triton.language", "math", "typing", "functools"})


def main(argv: list[str]) -> int:
    # argv: socket fd, then either the submission path, the entry and any other functions of the task (a config
    # function), or `--warm` and the modules to import before waiting for them (a pooled container).
    fd = int(argv[0])
    warm = len(argv) > 1 and argv[1] == "--warm"
    submission, entry, others = (None, None, []) if warm else (argv[1], argv[2], argv[3:])
    preload = argv[2:] if warm else []
    sock = socket.socket(fileno=fd)
    device = os.environ.get("CERTPLATFORM_DEVICE", "cpu")
    if device == "cpu" and os.environ.get("TRITON_INTERPRET") != "1":
        return _fatal(sock, "TRITON_INTERPRET is not set before import")
    if device == "cuda" and os.environ.get("TRITON_INTERPRET"):
        return _fatal(sock, "TRITON_INTERPRET must not be set on the GPU runtime")
    if device not in ("cpu", "cuda"):
        return _fatal(sock, f"unknown device {device!r}")
    if any(name not in PRELOADABLE for name in preload):
        return _fatal(sock, f"cannot preload {sorted(set(preload) - PRELOADABLE)}")
    # Correct kernels that mask with -inf make numpy warn (overflow in exp, -inf - -inf); that is not an
    # error.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    import numpy as np

    np.seterr(all="ignore")
    import torch

    torch.set_num_threads(max(1, int(os.environ.get("CERTPLATFORM_CPUS", "1"))))
    import importlib

    for name in preload:
        importlib.import_module(name)
    from . import call_inputs, candidate_loop, channel, guards, launch_log, messages  # noqa: F401 - before the snapshot

    guard = guards.Guard()
    clock = None
    if device == "cpu":
        from . import interpreter_bridge

        interpreter_bridge.install()
        guards.install_launch_hook(guard)
        launch_log.install()
    elif not torch.cuda.is_available():
        # The checker sees the GPU (it checked) but this uid does not: device nodes not readable by 10001.
        channel.send(sock, {"type": "unavailable", "error": "no CUDA device is visible to the candidate user"})
        return 1
    else:
        guards.install_compiled_launch_hook(guard)
    # Entering a dispatch mode imports torch._dynamo lazily, which rebinds torch.manual_seed: do all of that
    # (and the interpreter's own lazy set-up) before the snapshot that later calls are compared against.
    import torch._dynamo

    with guard:
        _warm_up(device)
    if device == "cuda":
        # Imported (and the clock's flush buffer allocated) outside the guard and before the snapshot, so that
        # the timing code is watched like the rest of the harness.
        from . import gpu_runner, timing

        clock = timing.CudaClock()
        guards.watch_cuda()
    guard.reset()
    launch_log.take()
    before = guards.snapshot()
    if warm:
        # Everything up to here is the harness's own work; the submission is not on disk for this process yet.
        try:
            submission, entry, others = _wait_for_load(sock)
        except (ValueError, OSError) as exc:
            return _fatal(sock, f"bad load message: {exc}")

    functions = candidate_loop.open_submission(
        sock,
        submission,
        (entry, *others),
        guard,
        lambda: call_inputs.violations(guard.reset(), before, guard_ok=True, phase="phase.import"),
    )
    if functions is None:
        return 0
    fn = functions[entry]

    def answer(header: dict, blobs: list):
        if header.get("type") == "call":
            called = functions.get(header.get("function", entry))
            return None if called is None else _call(called, header, blobs, guard, before, submission, device)
        if header.get("type") == "time" and clock is not None:
            return gpu_runner.time_call(fn, header, blobs, guard, clock, before, submission)
        return None

    return candidate_loop.serve(sock, answer)


def _wait_for_load(sock: socket.socket) -> tuple[str, str, list[str]]:
    """Tell the checker this process is warm, then wait for its submission; lower the CPU limit to the task's."""
    import resource

    from . import channel

    channel.send(sock, {"type": "warm"})
    header, _ = channel.recv(sock)
    if header.get("type") != "load":
        raise ValueError(f"expected load, got {header.get('type')!r}")
    submission, entry, others = header.get("submission"), header.get("entry"), header.get("functions") or []
    seconds = header.get("cpu_seconds")
    if not (isinstance(submission, str) and isinstance(entry, str) and isinstance(seconds, int) and seconds > 0):
        raise ValueError("submission, entry and cpu_seconds are required")
    if not all(isinstance(name, str) for name in others):
        raise ValueError("functions must be names")
    # Lowering one's own limits needs no privilege; the hard limit 5 s above the soft one, as at a cold start.
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    new_hard = seconds + 5 if hard == resource.RLIM_INFINITY else min(hard, seconds + 5)
    resource.setrlimit(resource.RLIMIT_CPU, (min(seconds, new_hard), new_hard))
    return submission, entry, list(others)


def _fatal(sock: socket.socket, message: str) -> int:
    from . import channel

    channel.send(sock, {"type": "import_error", "error": message, "violations": []})
    return 1


def _warm_up(device: str = "cpu") -> None:
    """Run one tiny kernel of our own so the interpreter's (or the compiler's and driver's) lazy set-up happens
    before the snapshot."""
    import torch
    import triton
    import triton.language as tl

    @triton.jit
    def _copy(src, dst, n, BLOCK: tl.constexpr):
        offs = tl.arange(0, BLOCK)
        tl.store(dst + offs, tl.load(src + offs, mask=offs < n), mask=offs < n)

    src = torch.arange(4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    _copy[(1,)](src, dst, 4, BLOCK=4)
    if device != "cpu":
        torch.cuda.synchronize()


def _call(fn, header, blobs, guard, before, submission, device="cpu"):
    import torch

    from . import call_inputs, candidate_loop, guards, launch_log
    from .channel import tensor_bytes
    from .messages import msg

    args, kwargs, buffers, apply = call_inputs.build_args(header, blobs, device)
    guard.reset()
    launch_log.take()
    error = None
    resource = False
    out = None
    guard_ok = True
    started = time.perf_counter()
    try:
        with guard:
            try:
                out = fn(*args, **kwargs)
                if apply is not None:  # fn returned a function (migrate_block's forward): call it on these
                    if not callable(out):
                        raise TypeError(f"returned {type(out).__name__}, expected a callable forward")
                    out = out(*apply)
                if device != "cpu":  # asynchronous kernel faults surface here, inside the call they belong to
                    torch.cuda.synchronize()
            finally:
                guard_ok = guards.guard_is_current(guard)
    except BaseException as exc:
        error = candidate_loop.describe(exc, submission)
        hint = call_inputs.resource_hint(exc)
        resource = hint is not None
        if hint:
            error = f"{hint}: {error}"
    elapsed = time.perf_counter() - started
    record = guard.reset()

    reply = {
        "type": "result",
        "elapsed": elapsed,
        "launches": record.launches,
        "launch_log": launch_log.take(),
        "error": error,
        "resource": resource,
        "violations": call_inputs.violations(record, before, guard_ok, "phase.call"),
        "output": None,
        "output_problem": None,
        "shares_input": False,
        "canary_damage": 0,
    }
    out_blobs = [tensor_bytes(b) for b in buffers]
    if error is None and header.get("returns") == "data":
        try:
            reply["value"] = plain_data(out)
        except (TypeError, ValueError) as exc:
            reply["output_problem"] = msg("test.output_data", error=str(exc)).to_dict()
    elif error is None and header.get("returns") == "taps":
        _reply_taps(out, reply, out_blobs, buffers, device)
        reply["canary_damage"] = guards.canary_damage(record)
    elif error is None:
        problem = _tensor_problem(out, device)
        if problem:
            reply["output_problem"] = problem
        else:
            reply["shares_input"] = _shares(out, buffers)
            reply["canary_damage"] = guards.canary_damage(record)
            reply["output"], reply["output_problem"] = _attach(out, out_blobs)
    return reply, out_blobs


MAX_TAPS = 32


def _tensor_problem(out, device: str) -> dict | None:
    """Why `out` cannot be returned as a result tensor (a message dict), or None."""
    import torch

    from .messages import msg

    if type(out) is not torch.Tensor:
        return msg("test.output_type", type=type(out).__name__).to_dict()
    if out.layout != torch.strided or out.device.type != device:
        return msg(
            "test.output_device", layout=str(out.layout), device=str(out.device), expected=device.upper()
        ).to_dict()
    return None


def _shares(out, buffers) -> bool:
    storage = out.untyped_storage().data_ptr()
    return out.numel() > 0 and any(storage == b.untyped_storage().data_ptr() for b in buffers)


def _attach(out, out_blobs: list) -> tuple[dict | None, dict | None]:
    """(the output's description with its blob index, None) or (None, why it cannot be sent)."""
    from .channel import dtype_name, tensor_bytes
    from .messages import msg

    try:
        meta = {"dtype": dtype_name(out.dtype), "shape": list(out.shape), "blob": len(out_blobs)}
        out_blobs.append(tensor_bytes(out))
        return meta, None
    except Exception as exc:
        return None, msg("test.output_unsupported", error=str(exc)).to_dict()


def _reply_taps(value, reply: dict, out_blobs: list, buffers, device: str) -> None:
    """A forward's `(output, {tap name: tensor})`: the output as `output`, each tap under `taps`."""
    from .messages import msg

    if type(value) not in (tuple, list) or len(value) != 2 or type(value[1]) is not dict:
        reply["output_problem"] = msg("test.output_taps", type=type(value).__name__).to_dict()
        return
    out, taps = value
    named = [("output", out), *list(taps.items())[:MAX_TAPS]]
    for name, tensor in named:
        problem = (
            _tensor_problem(tensor, device) if type(name) is str else msg("test.output_taps", type="dict").to_dict()
        )
        if problem:
            reply["output_problem"] = msg("test.in_tap", tap=str(name)[:40], detail=problem).to_dict()
            return
    reply["shares_input"] = any(_shares(t, buffers) for _, t in named)
    reply["taps"] = {}
    for name, tensor in named:
        meta, problem = _attach(tensor, out_blobs)
        if problem:
            reply["output_problem"] = problem
            return
        if name == "output":
            reply["output"] = meta
        else:
            reply["taps"][name] = meta


MAX_DATA_ITEMS = 4096
MAX_DATA_STR = 1000


def plain_data(value, depth: int = 0, budget: list | None = None):
    """A copy of a returned value made of exact dicts with str keys, lists, tuples, str, int, float, bool and None
    (a config function's answer), so that only plain data crosses to the checker. Raises TypeError/ValueError."""
    budget = [MAX_DATA_ITEMS] if budget is None else budget
    budget[0] -= 1
    if depth > 8 or budget[0] < 0:
        raise ValueError("the value is nested too deeply or too large")
    if type(value) is str and len(value) > MAX_DATA_STR:
        raise ValueError(f"a string of {len(value)} characters (at most {MAX_DATA_STR})")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"a dict key is {type(key).__name__}, expected str")
            out[key] = plain_data(item, depth + 1, budget)
        return out
    if type(value) in (list, tuple):
        return [plain_data(item, depth + 1, budget) for item in value]
    raise TypeError(f"it holds a {type(value).__name__}")
