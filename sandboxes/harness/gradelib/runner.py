"""The candidate process: imports the submission under the guards, then answers the checker's calls one at a
time.

It receives inputs over the socket the checker created, calls the entry point, and sends back the output, the
input buffers as they are after the call, and what the guards saw. It never sees a reference, a tolerance or
the seed, and it produces no verdict: the checker decides everything in its own process.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import warnings

MAX_ERROR_CHARS = 3_000


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
    from . import channel, guards, launch_log, messages  # noqa: F401 - messages is loaded before the snapshot watches it

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

    module, error = _import_submission(submission, guard)
    record = guard.reset()
    violations = _violations(record, before, guard_ok=True, phase="phase.import")
    if error is not None:
        channel.send(sock, {"type": "import_error", "error": error, "violations": violations})
        return 0
    functions = {name: getattr(module, name, None) for name in (entry, *others)}
    missing = [name for name, value in functions.items() if not callable(value)]
    if missing:
        channel.send(
            sock,
            {
                "type": "import_error",
                "violations": violations,
                "error": f"the submission defines no function named {missing[0]!r}",
            },
        )
        return 0
    fn = functions[entry]
    channel.send(sock, {"type": "ready", "violations": violations})

    while True:
        header, blobs = channel.recv(sock)
        if header.get("type") == "call":
            called = functions.get(header.get("function", entry))
            if called is None:
                return 0
            reply, out_blobs = _call(called, header, blobs, guard, before, submission, device)
        elif header.get("type") == "time" and clock is not None:
            reply, out_blobs = gpu_runner.time_call(fn, header, blobs, guard, clock, before, submission)
        else:
            return 0
        channel.send(sock, reply, out_blobs)


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


def _import_submission(path: str, guard):
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("submission", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        with guard:
            spec.loader.exec_module(module)
        return module, None
    except BaseException as exc:
        return None, _describe(exc, path)


def _describe(exc: BaseException, submission: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission]
    lines = [f"  line {f.lineno}, in {f.name}: {f.line}" for f in frames[-5:]]
    cause = exc.__cause__
    text = f"{type(exc).__name__}: {exc}"
    if cause is not None and type(exc).__name__ == "InterpreterError":
        text += f" (caused by {type(cause).__name__}: {cause})"
    if lines:
        text += "\n" + "\n".join(lines)
    return text[:MAX_ERROR_CHARS]


def _resource_hint(exc: BaseException) -> str | None:
    if isinstance(exc, MemoryError):
        return "out of memory (memory limit)"
    if isinstance(exc, RecursionError):
        return "recursion limit"
    if isinstance(exc, OSError):
        return {
            27: "file size limit exceeded",
            28: "scratch disk full",
            24: "too many open files",
            11: "process limit reached",
        }.get(exc.errno)
    return None


def _violations(record, before, guard_ok: bool, phase: str) -> list[dict]:
    """The rules the guards saw broken, as messages (codes and arguments) for the checker."""
    from . import guards
    from .messages import msg

    when = msg(phase)
    found = []
    if record.torch_ops:
        ops = ", ".join(f"aten.{name} x{count}" for name, count in sorted(record.torch_ops.items())[:8])
        found.append(msg("rule.torch_compute", phase=when, ops=ops).to_dict())
    patched = guards.patched_since(before)
    if patched:
        found.append(msg("rule.replaced", phase=when, names=", ".join(patched[:8])).to_dict())
    if not guard_ok:
        found.append(msg("rule.guard_disabled", phase=when).to_dict())
    return found


def _build_args(header: dict, blobs: list[bytes], device: str = "cpu"):
    import torch

    from .channel import dtype_of, tensor_from_bytes

    buffers = []

    def build(spec):
        if spec["kind"] == "value":
            return spec["value"]
        if spec["kind"] == "profile":  # a chip_profile task's ChipProfile (public module in the image)
            from chipprofile import ChipProfile

            return ChipProfile.from_wire(spec["value"])
        if spec["kind"] == "dtype":
            return dtype_of(spec["value"])
        buf = tensor_from_bytes(blobs[spec["blob"]], spec["dtype"], [spec["storage_numel"]])
        if device != "cpu":  # the whole padded buffer moves, so the NaN guards around the view come along
            buf = buf.to(device)
        buffers.append(buf)
        return torch.as_strided(buf, spec["shape"], spec["stride"], spec["offset"])

    args = [build(s) for s in header["args"]]
    kwargs = {k: build(s) for k, s in header["kwargs"].items()}
    return args, kwargs, buffers


def _call(fn, header, blobs, guard, before, submission, device="cpu"):
    import torch

    from . import guards, launch_log
    from .channel import dtype_name, tensor_bytes
    from .messages import msg

    args, kwargs, buffers = _build_args(header, blobs, device)
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
                if device != "cpu":  # asynchronous kernel faults surface here, inside the call they belong to
                    torch.cuda.synchronize()
            finally:
                guard_ok = guards.guard_is_current(guard)
    except BaseException as exc:
        error = _describe(exc, submission)
        hint = _resource_hint(exc)
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
        "violations": _violations(record, before, guard_ok, "phase.call"),
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
    elif error is None:
        if type(out) is not torch.Tensor:
            reply["output_problem"] = msg("test.output_type", type=type(out).__name__).to_dict()
        elif out.layout != torch.strided or out.device.type != device:
            reply["output_problem"] = msg(
                "test.output_device", layout=str(out.layout), device=str(out.device), expected=device.upper()
            ).to_dict()
        else:
            storage = out.untyped_storage().data_ptr()
            reply["shares_input"] = out.numel() > 0 and any(storage == b.untyped_storage().data_ptr() for b in buffers)
            reply["canary_damage"] = guards.canary_damage(record)
            try:
                name = dtype_name(out.dtype)
                reply["output"] = {"dtype": name, "shape": list(out.shape), "blob": len(out_blobs)}
                out_blobs.append(tensor_bytes(out))
            except Exception as exc:
                reply["output_problem"] = msg("test.output_unsupported", error=str(exc)).to_dict()
    return reply, out_blobs


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
