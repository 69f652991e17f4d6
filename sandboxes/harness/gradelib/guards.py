"""Runtime guards inside the candidate process: what the submission really does during import and each call.

These run in the candidate's own process, so they are tamper-evident rather than tamper-proof: the static scan
forbids the constructs needed to reach them (private attributes, getattr, sys, gc, ctypes...), and the
snapshot below notices replaced functions. Correctness, input mutation and the result itself are decided by
the checker in its own process.
"""

from __future__ import annotations

import builtins
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
import triton
import triton.runtime.interpreter as interpreter
import triton.runtime.jit as triton_jit
from torch.utils import _python_dispatch
from torch.utils._python_dispatch import TorchDispatchMode

from .host_api import allocator_ops

# aten ops host code may run: allocation (host_api lists the allocators), views, copies and casts. Nothing here
# computes an operator's answer.
HOST_OPS = allocator_ops() | frozenset(
    {
        "empty.memory_format",
        "empty_like.default",
        "empty_strided.default",
        "new_empty.default",
        "new_empty_strided.default",
        "zeros.default",
        "zeros_like.default",
        "new_zeros.default",
        "zero_.default",
        "full.default",
        "full_like.default",
        "new_full.default",
        "fill_.Scalar",
        "clone.default",
        "contiguous.default",
        "copy_.default",
        "_to_copy.default",
        "view.default",
        "_unsafe_view.default",
        "reshape.default",
        "_reshape_alias.default",
        "as_strided.default",
        "t.default",
        "transpose.int",
        "permute.default",
        "expand.default",
        "squeeze.default",
        "squeeze.dim",
        "squeeze.dims",
        "unsqueeze.default",
        "select.int",
        "slice.Tensor",
        "narrow.default",
        "detach.default",
        "alias.default",
        "lift_fresh.default",
        "view_as.default",
        "flatten.using_ints",
        "unflatten.int",
        "split.Tensor",
        "split_with_sizes.default",
        "unbind.int",
        "is_same_size.default",
        "resolve_conj.default",
        "resolve_neg.default",
    }
)
# What the Triton interpreter itself does to move arguments to the "device" and back.
LAUNCH_OPS = HOST_OPS | frozenset({"set_.source_Storage", "set_.source_Storage_storage_offset"})
ALLOCATION_OPS = frozenset(
    {
        "empty.memory_format",
        "empty_like.default",
        "empty_strided.default",
        "new_empty.default",
        "new_empty_strided.default",
    }
)

CANARY_BYTE = 0x7F  # 0x7F7F is NaN in fp16/bf16 and 3.4e38 in fp32: an untouched output element never looks right
CANARY_PAD_BYTES = 64 << 10


@dataclass
class CallRecord:
    launches: int = 0
    torch_ops: dict[str, int] = field(default_factory=dict)
    allocations: list[tuple[torch.Tensor, int, int]] = field(default_factory=list)


class Guard(TorchDispatchMode):
    """Sees every aten op (outside and inside kernel launches), counts launches, pads output allocations with
    canaries."""

    def __init__(self) -> None:
        super().__init__()
        self.record = CallRecord()
        self.in_launch = 0
        self.active = False
        # Off only while timing on a GPU: a canary fill per output would be a kernel inside every repetition.
        self.pad = True

    def reset(self) -> CallRecord:
        record, self.record = self.record, CallRecord()
        return record

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _op_name(func)
        allowed = LAUNCH_OPS if self.in_launch else HOST_OPS
        if name not in allowed:
            self.record.torch_ops[name] = self.record.torch_ops.get(name, 0) + 1
        out = func(*args, **kwargs)
        if not self.in_launch and self.pad and name in ALLOCATION_OPS and isinstance(out, torch.Tensor):
            out = self._padded(out)
        return out

    def _padded(self, out: torch.Tensor) -> torch.Tensor:
        """Return an equivalent fresh tensor that sits inside a larger buffer of canary bytes."""
        if out.numel() == 0 or not out.is_contiguous() or out.layout != torch.strided:
            return out
        itemsize = out.element_size()
        pad = max(1, CANARY_PAD_BYTES // itemsize)
        big = torch.empty(out.numel() + 2 * pad, dtype=out.dtype, device=out.device)
        big.view(torch.uint8).fill_(CANARY_BYTE)
        view = big.as_strided(out.shape, out.stride(), pad)
        self.record.allocations.append((big, pad, out.numel()))
        return view


def _op_name(func) -> str:
    try:
        return f"{func._opname}.{func._overloadname}"
    except AttributeError:
        return str(func)


def canary_damage(record: CallRecord) -> int:
    """How many padding bytes around host allocations were overwritten (out-of-bounds stores)."""
    damaged = 0
    for big, pad, numel in record.allocations:
        raw = big.view(torch.uint8)
        itemsize = big.element_size()
        head = raw[: pad * itemsize]
        tail = raw[(pad + numel) * itemsize :]
        damaged += int((head != CANARY_BYTE).sum()) + int((tail != CANARY_BYTE).sum())
    return damaged


def install_launch_hook(guard: Guard) -> None:
    """Count every interpreted grid launch; let the interpreter's own tensor shuffling through the guard."""
    original = interpreter.GridExecutor.__call__

    def counted_call(self, *args, **kwargs):
        guard.record.launches += 1
        guard.in_launch += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            guard.in_launch -= 1

    counted_call.__wrapped_original__ = original
    interpreter.GridExecutor.__call__ = counted_call


def install_compiled_launch_hook(guard: Guard) -> None:
    """On a GPU every launch ends in JITFunction.run (autotuners and heuristics call it too); warmup=True only
    compiles. Count the launches and let Triton's own work during them through the guard."""
    original = triton_jit.JITFunction.run

    def counted_run(self, *args, grid, warmup, **kwargs):
        if not warmup:
            guard.record.launches += 1
        guard.in_launch += 1
        try:
            return original(self, *args, grid=grid, warmup=warmup, **kwargs)
        finally:
            guard.in_launch -= 1

    counted_run.__wrapped_original__ = original
    triton_jit.JITFunction.run = counted_run


def guard_is_current(guard: Guard) -> bool:
    return _python_dispatch._get_current_dispatch_mode() is guard


# ---- monkeypatch detection ---------------------------------------------------------------------------------


def _watched() -> dict[str, object]:
    """Namespaces whose members the submission must not replace. triton.language is left out on purpose: the
    interpreter patches and restores it around every launch."""
    import torch.nn.functional as F

    watched = {
        "builtins": builtins,
        "torch": torch,
        "torch.Tensor": torch.Tensor,
        "torch.nn.functional": F,
        "numpy": np,
        "triton": triton,
        "triton.runtime.interpreter": interpreter,
        "GridExecutor": interpreter.GridExecutor,
        "InterpretedFunction": interpreter.InterpretedFunction,
        "JITFunction": triton_jit.JITFunction,
        "torch.utils._python_dispatch": _python_dispatch,
        "TorchDispatchMode": TorchDispatchMode,
        "torch.TensorBase": torch.Tensor.__mro__[1],
    }
    for name, module in list(sys.modules.items()):
        if name.startswith("gradelib") and module is not None:
            watched[name] = module
    watched.update(_EXTRA_WATCHED)
    return watched


# Filled by watch_cuda() on the GPU runtime only; the CPU runtime watches exactly the namespaces above.
_EXTRA_WATCHED: dict[str, object] = {}
_CUDA_NAMES = ("Event", "synchronize", "current_stream", "Stream")


def watch_cuda() -> None:
    """Also watch what the timing loop relies on: the CUDA event class and its base. The torch.cuda namespace as
    a whole changes during lazy initialisation, so only the functions the clock uses are pinned (by identity)."""
    event = torch.cuda.Event
    _EXTRA_WATCHED["torch.cuda.Event"] = event
    _EXTRA_WATCHED["torch.cuda.EventBase"] = event.__mro__[1]


def snapshot() -> dict[tuple[str, str], int]:
    state: dict[tuple[str, str], int] = {}
    for owner, obj in _watched().items():
        for key, value in list(vars(obj).items()):
            state[(owner, key)] = id(value)
        if isinstance(obj, type):
            # A class gaining a member shadows its bases (Tensor.__eq__ over TensorBase.__eq__): record the
            # key set.
            state[(owner, "<members>")] = hash(frozenset(vars(obj)))
    for name in ("torch", "numpy", "triton", "triton.language", "triton.runtime.interpreter", "builtins"):
        state[("sys.modules", name)] = id(sys.modules.get(name))
    if _EXTRA_WATCHED:
        for name in _CUDA_NAMES:
            state[("torch.cuda", name)] = id(getattr(torch.cuda, name, None))
    return state


def patched_since(before: dict[tuple[str, str], int]) -> list[str]:
    """Names whose object changed or disappeared since the snapshot (new names are ignored)."""
    now = snapshot()
    changed = []
    for (owner, key), ident in before.items():
        if now.get((owner, key)) == ident:
            continue
        if key == "<members>":
            obj = _watched()[owner]
            added = sorted(k for k in vars(obj) if (owner, k) not in before)
            changed.extend(f"{owner}.{k}" for k in added)
        else:
            changed.append(f"{owner}.{key}")
    return sorted(set(changed))
