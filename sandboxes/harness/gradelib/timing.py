"""Timing a call on the GPU the way KernelBench / GPU MODE do: warm-up, many repetitions bracketed by CUDA
events, the L2 cache flushed before each repetition, every stream synchronised, and a flag on implausible
speedups over the torch reference.

Everything that touches CUDA sits behind the small `Clock` interface (CudaClock below), so the loop, the
statistics, the flush sizing and the flagging are plain Python that the tests drive with a fake clock. The
candidate's call is timed in the candidate process (its own code must run there); the torch reference is timed
by the checker with the same loop. Timings are reported, never scored.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MB = 1 << 20
# do_bench's fixed flush buffer, for a device that does not report its L2 size.
DEFAULT_FLUSH_BYTES = 256 * MB
MIN_FLUSH_BYTES = 32 * MB
# A speedup above this over torch is more often caching, skipped work or a broken measurement than a kernel.
IMPLAUSIBLE_SPEEDUP = 10.0


class Clock(Protocol):
    def flush_l2(self) -> None: ...
    def mark(self) -> Any: ...  # a point on the device's timeline (a recorded CUDA event)
    def synchronize(self) -> None: ...  # wait for every stream of the device
    def elapsed_ms(self, start: Any, end: Any) -> float: ...


@dataclass(frozen=True)
class TimingPlan:
    warmup_calls: int = 3  # at least this many untimed calls (compilation, autotuning, caches)
    warmup_ms: float = 25.0  # ... and at least this much device time, as do_bench
    max_warmup_calls: int = 100
    target_ms: float = 100.0  # device time the repetitions should add up to
    min_reps: int = 10
    max_reps: int = 200

    def reps_for(self, estimate_ms: float, budget_ms: float | None = None) -> int:
        """Repetitions for a call of about estimate_ms: enough for target_ms, within [min_reps, max_reps], and
        never more than the remaining budget holds (at least one)."""
        per_call = max(estimate_ms, 1e-3)
        reps = min(self.max_reps, max(self.min_reps, math.ceil(self.target_ms / per_call)))
        if budget_ms is not None:
            reps = min(reps, max(1, int(budget_ms / per_call)))
        return reps


DEFAULT_PLAN = TimingPlan()


def l2_flush_bytes(l2_bytes: int | None, free_bytes: int | None = None) -> int:
    """Size of the buffer written before each repetition so that no input is still in L2: twice the L2 (a
    write-allocate cache then holds only flush data), do_bench's 256 MB when the size is unknown, at least
    32 MB, and at most an eighth of the free device memory so the task keeps the rest. A multiple of 4."""
    size = 2 * l2_bytes if l2_bytes and l2_bytes > 0 else DEFAULT_FLUSH_BYTES
    size = max(size, MIN_FLUSH_BYTES)
    if free_bytes is not None and free_bytes > 0:
        size = min(size, free_bytes // 8)
    return max(4, size - size % 4)


def measure(
    fn: Callable[[], object],
    clock: Clock,
    plan: TimingPlan = DEFAULT_PLAN,
    *,
    budget_s: float | None = None,
    now: Callable[[], float] = time.monotonic,
) -> list[float]:
    """Milliseconds per repetition of fn().

    Each repetition: flush L2, mark, call, synchronise the whole device, mark. Marking the end after a
    device-wide synchronize puts work the call left on other streams inside the measurement (an event on the
    current stream alone would miss it); it adds the same few microseconds to the reference, timed the same way.
    """
    started = now()

    def left_ms() -> float | None:
        return None if budget_s is None else (budget_s - (now() - started)) * 1000.0

    clock.synchronize()
    warm: list[float] = []
    while len(warm) < plan.warmup_calls or (sum(warm) < plan.warmup_ms and len(warm) < plan.max_warmup_calls):
        clock.flush_l2()
        start = clock.mark()
        fn()
        clock.synchronize()
        end = clock.mark()
        clock.synchronize()
        warm.append(clock.elapsed_ms(start, end))
        remaining = left_ms()
        if remaining is not None and remaining <= 0:
            break
    remaining = left_ms()
    reps = plan.reps_for(statistics.median(warm), None if remaining is None else max(0.0, remaining))
    marks = []
    for _ in range(reps):
        clock.flush_l2()
        start = clock.mark()
        fn()
        clock.synchronize()
        marks.append((start, clock.mark()))
        remaining = left_ms()
        if remaining is not None and remaining <= 0:
            break
    clock.synchronize()
    return [clock.elapsed_ms(start, end) for start, end in marks]


@dataclass(frozen=True)
class Stats:
    median: float
    mean: float
    minimum: float
    maximum: float
    reps: int


def summarize(samples: list[float]) -> Stats:
    if not samples:
        raise ValueError("no timing samples")
    return Stats(statistics.median(samples), statistics.fmean(samples), min(samples), max(samples), len(samples))


def validate_samples(raw: object, max_reps: int = DEFAULT_PLAN.max_reps) -> list[float]:
    """The candidate process reports its samples; the checker accepts only a short list of sane numbers."""
    if not isinstance(raw, list) or not 0 < len(raw) <= max_reps:
        raise ValueError(f"timing samples must be a non-empty list of at most {max_reps} numbers")
    samples = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"bad timing sample {value!r}")
        samples.append(float(value))
    return samples


def timing_record(samples: list[float], reference: list[float] | None) -> dict[str, Any]:
    """The optional `timing` object of one test in results.json (all finite numbers, JSON-safe)."""
    own = summarize(samples)
    record: dict[str, Any] = {
        "median_ms": _round(own.median),
        "min_ms": _round(own.minimum),
        "mean_ms": _round(own.mean),
        "reps": own.reps,
    }
    if reference:
        ref = summarize(reference)
        record["torch_median_ms"] = _round(ref.median)
        if own.median > 0:
            record["speedup"] = _round(ref.median / own.median)
    flag = speedup_flag(own.median, record.get("torch_median_ms"))
    if flag:
        record["flag"] = flag
    return record


def speedup_flag(median_ms: float, torch_median_ms: float | None, limit: float = IMPLAUSIBLE_SPEEDUP) -> str | None:
    """A note for the reviewer when the measurement looks too good to be a kernel doing the work."""
    if median_ms <= 0:
        return "implausible: the call took no measurable device time"
    if torch_median_ms is not None and torch_median_ms / median_ms > limit:
        return (
            f"implausible speedup {torch_median_ms / median_ms:.1f}x over torch (more than {limit:g}x): "
            "check for cached results, skipped work or work outside the measured streams"
        )
    return None


def describe(record: dict[str, Any]) -> str:
    """One line for the test message."""
    text = f"GPU median {record['median_ms']:.4g} ms over {record['reps']} reps"
    if "torch_median_ms" in record:
        text += f", torch {record['torch_median_ms']:.4g} ms"
    if "speedup" in record:
        text += f", speedup {record['speedup']:.2f}x"
    if "flag" in record:
        text += f" [{record['flag']}]"
    return text


def _round(value: float) -> float:
    return float(f"{value:.6g}")


class CudaClock:
    """The Clock of a CUDA device: timing events, a device-wide synchronize and a buffer that evicts L2.

    Created before the submission is imported, so the bound functions are torch's own even if a submission
    later replaces them (which the guards also report)."""

    def __init__(self, device: int = 0, flush_bytes: int | None = None) -> None:
        import torch

        props = torch.cuda.get_device_properties(device)
        free, _total = torch.cuda.mem_get_info(device)
        size = flush_bytes or l2_flush_bytes(getattr(props, "L2_cache_size", None), free)
        self._flush = torch.empty(size // 4, dtype=torch.int32, device=f"cuda:{device}")
        self._event = torch.cuda.Event
        self._sync = torch.cuda.synchronize

    def flush_l2(self) -> None:
        self._flush.zero_()

    def mark(self):
        event = self._event(enable_timing=True)
        event.record()
        return event

    def synchronize(self) -> None:
        self._sync()

    def elapsed_ms(self, start, end) -> float:
        return float(start.elapsed_time(end))


def passthrough_mode():
    """A dispatch mode that only forwards: the torch reference is timed under one so that it pays the same
    Python dispatch overhead per aten op as the candidate's call does under the harness's guard."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _PassThrough(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    return _PassThrough()
