"""What a triton_op task's hidden tests/cases.py builds on: the Case model, FlagGems tolerances, input
helpers, the padded input encoding and the comparison. Runs only in the checker (trusted) process."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .channel import dtype_name, tensor_bytes
from .messages import Message, msg

# FlagGems RESOLUTION: rtol per dtype; atol = 1e-4 * reduce_dim (the length of the reduction behind each
# output).
RESOLUTION = {torch.float16: 1e-3, torch.bfloat16: 0.016, torch.float32: 1.3e-6, torch.float64: 1e-7}
BASE_ATOL = 1e-4
INPUT_PAD_BYTES = 16 << 10
# fp32 tl.dot on NVIDIA defaults to TF32: the inputs keep 10 mantissa bits (the tensor cores truncate), so each
# product is off by up to 2 * 2^-10 relative and the errors of a K-long sum grow like sqrt(K). The GPU runtime
# makes IEEE the default (TRITON_F32_DEFAULT=ieee, see runtime.py) and grades fp32 with the FlagGems tolerance
# above; a task that allows TF32 declares `dot_precision="tf32"` on its cases and gets this one instead:
# rtol two TF32 steps, atol the larger of FlagGems' and 5e-3 * sqrt(K). Emulated TF32 (truncated and rounded)
# on the L1 matmul shapes needs at most 1.8e-3 * sqrt(K) with N(0, 1) inputs (tests/harness/test_gpu_mode.py).
TF32_RTOL = 2e-3
# fp32 with a known error bound (matmul): FlagGems' atol = 1e-4 * K grows with K until a computation in fp16 fits
# inside it (about 78% of the L1 matmul cases passed with fp16-rounded operands). A case that declares the
# magnitude of its terms, M_ij = sum_k |a_ik| * |b_kj| (float64), is graded fp32 against the probabilistic error
# bound of an fp32 dot product in any summation order (Higham & Mary): atol_ij = c * sqrt(K) * u * M_ij with
# u = 2^-24. Correct fp32 kernels (blocked tl.dot, split-K, 16..128-wide K blocks) stay below 0.2 of it on the
# L1 shapes; operands rounded to fp16 exceed it in almost every element (tests/harness/test_real_world.py).
FP32_UNIT_ROUNDOFF = 2.0**-24
FP32_BOUND_FACTOR = 2.0
TF32_ATOL_PER_SQRT_K = 5e-3
DOT_PRECISIONS = ("ieee", "tf32")


def tolerance(dtype: torch.dtype, reduce_dim: int = 1, dot_precision: str = "ieee") -> tuple[float, float]:
    """(atol, rtol) as FlagGems' gems_assert_close uses them; looser for fp32 where the task allows TF32."""
    if dot_precision not in DOT_PRECISIONS:
        raise ValueError(f"dot_precision must be one of {DOT_PRECISIONS}, got {dot_precision!r}")
    atol = BASE_ATOL * max(1, reduce_dim)
    if dot_precision == "tf32" and dtype == torch.float32:
        return max(atol, TF32_ATOL_PER_SQRT_K * math.sqrt(max(1, reduce_dim))), TF32_RTOL
    return atol, RESOLUTION[dtype]


@dataclass(frozen=True)
class Case:
    """One hidden test: the call to make and the float64 answer to compare against."""

    name: str
    args: tuple
    expected: torch.Tensor  # float64, computed from exactly the inputs the candidate receives
    dtype: torch.dtype  # required output dtype
    kwargs: dict = field(default_factory=dict)
    reduce_dim: int = 1
    require_launch: bool = True  # False only where no work exists (empty outputs)
    # The torch function the expected value came from; on a GPU it is timed in the tested dtype as the baseline.
    reference: Callable | None = field(default=None, compare=False, repr=False)
    dot_precision: str = "ieee"  # "tf32": the task allows TF32 fp32 dots (GPU), graded with the looser tolerance
    # float64 sum_k |term_k| behind each output element (for matmul |a| @ |b|); fp32 is then graded against the
    # fp32 error bound instead of FlagGems' atol (see FP32_BOUND_FACTOR).
    magnitude: torch.Tensor | None = field(default=None, compare=False, repr=False)
    # Seconds the checker spent computing `expected` (and `magnitude`): the reference's share of compute_s.
    reference_s: float = field(default=0.0, compare=False)

    @property
    def tolerance(self) -> tuple[float, float]:
        return tolerance(self.dtype, self.reduce_dim, self.dot_precision)

    @property
    def bounded(self) -> bool:
        return self.magnitude is not None and self.dtype == torch.float32 and self.dot_precision == "ieee"

    def atol(self) -> float | torch.Tensor:
        """The absolute tolerance: one number, or per element where the case carries an fp32 error bound."""
        if self.bounded:
            return FP32_BOUND_FACTOR * math.sqrt(max(1, self.reduce_dim)) * FP32_UNIT_ROUNDOFF * self.magnitude
        return self.tolerance[0]


def make_case(
    name: str,
    reference,
    args: tuple,
    kwargs: dict | None = None,
    *,
    reduce_dim: int = 1,
    out_dtype: torch.dtype | None = None,
    dot_precision: str = "ieee",
    magnitude: Callable | None = None,
) -> Case:
    """Build a Case whose expected value is `reference` applied to float64 copies of the tensor arguments.

    `magnitude`, applied to the same float64 copies, gives sum_k |term_k| behind each output element (for a
    matmul: `lambda a, b: a.abs() @ b.abs()`); fp32 is then graded against the error bound of fp32 arithmetic."""
    kwargs = dict(kwargs or {})
    tolerance(torch.float32, reduce_dim, dot_precision)  # refuses an unknown precision while cases.py loads
    started = time.perf_counter()
    upcast = tuple(a.double() if isinstance(a, torch.Tensor) else a for a in args)
    expected = reference(*upcast, **kwargs).double()
    dtype = out_dtype or next(a.dtype for a in args if isinstance(a, torch.Tensor))
    numel = expected.numel()
    bound = None
    if magnitude is not None:
        bound = magnitude(*upcast, **kwargs).double()
        if bound.shape != expected.shape:
            raise ValueError(f"magnitude has shape {tuple(bound.shape)}, expected {tuple(expected.shape)}")
    reference_s = time.perf_counter() - started
    return Case(
        name=name,
        args=args,
        kwargs=kwargs,
        expected=expected,
        dtype=dtype,
        reduce_dim=reduce_dim,
        require_launch=numel > 0,
        reference=reference,
        dot_precision=dot_precision,
        magnitude=bound,
        reference_s=reference_s,
    )


# ---- input helpers -----------------------------------------------------------------------------------------


def randn(shape, dtype: torch.dtype, gen: torch.Generator, scale: float = 1.0, layout: str = "contiguous"):
    """Normal values in the given dtype and memory layout: 'contiguous', 'transposed' (2-D, a .t() view) or
    'sliced' (2-D, a column slice of a wider tensor, so rows are not adjacent) or 'strided' (every other
    element)."""
    shape = tuple(shape)
    if layout == "contiguous":
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)
    if layout == "transposed":
        rows, cols = shape
        return randn((cols, rows), dtype, gen, scale).t()
    if layout == "sliced":
        rows, cols = shape
        wide = randn((rows, cols + 1 + cols // 3), dtype, gen, scale)
        return wide[:, 1 : cols + 1]
    if layout == "strided":
        full = randn((*shape[:-1], 2 * shape[-1]), dtype, gen, scale)
        return full[..., ::2]
    raise ValueError(f"unknown layout {layout!r}")


def describe(t: torch.Tensor) -> str:
    dtype = {torch.float16: "fp16", torch.float32: "fp32", torch.bfloat16: "bf16"}.get(t.dtype, str(t.dtype))
    layout = "" if t.is_contiguous() else ", non-contiguous"
    return f"{dtype} {tuple(t.shape)}{layout}"


# ---- encoding inputs for the candidate ---------------------------------------------------------------------


def encode_args(case: Case) -> tuple[dict, list[bytes]]:
    """Copy every tensor argument into a fresh buffer with NaN canaries around it (and in the gaps of strided
    views), so the candidate never touches the checker's tensors and unmasked loads read NaN."""
    return encode_call(case.args, case.kwargs)


def encode_call(args: tuple, kwargs: dict, apply: tuple | None = None) -> tuple[dict, list[bytes]]:
    """The call message for these arguments (see encode_args); a torch dtype travels by name. With `apply`, the
    function's return value is called in turn with these arguments (migrate_block's forward)."""
    blobs: list[bytes] = []

    def encode(value):
        if hasattr(value, "to_wire"):  # a chip_profile task's ChipProfile, rebuilt by the candidate's runner
            return {"kind": "profile", "value": value.to_wire()}
        if hasattr(value, "wire_config"):  # a tinyblock.TinyLlamaBlock: its config and weights (padded copies)
            weights = {name: encode(w) for name, w in value.weights().items()}
            return {"kind": "block", "config": value.wire_config(), "weights": weights}
        if isinstance(value, torch.dtype):
            return {"kind": "dtype", "value": dtype_name(value)}
        if not isinstance(value, torch.Tensor):
            if not (value is None or isinstance(value, (bool, int, float, str))):
                raise TypeError(f"cannot send {type(value).__name__} to the candidate")
            return {"kind": "value", "value": value}
        if any(s < 0 for s in value.stride()):
            raise ValueError("negative strides are not supported")
        span = (
            0 if value.numel() == 0 else 1 + sum((n - 1) * s for n, s in zip(value.shape, value.stride(), strict=True))
        )
        pad = max(16, INPUT_PAD_BYTES // value.element_size())
        buf = torch.empty(span + 2 * pad, dtype=value.dtype)
        if value.dtype.is_floating_point:
            buf.fill_(math.nan)
        else:
            buf.view(torch.uint8).fill_(0x7F)
        view = buf.as_strided(value.shape, value.stride(), pad)
        view.copy_(value)
        blobs.append(tensor_bytes(buf))
        return {
            "kind": "tensor",
            "dtype": dtype_name(value.dtype),
            "storage_numel": buf.numel(),
            "shape": list(value.shape),
            "stride": list(value.stride()),
            "offset": pad,
            "blob": len(blobs) - 1,
        }

    header = {
        "type": "call",
        "args": [encode(a) for a in args],
        "kwargs": {k: encode(v) for k, v in kwargs.items()},
    }
    if apply is not None:
        header["apply"] = [encode(a) for a in apply]
    return header, blobs


def device_args(case: Case, device: str) -> tuple[tuple, dict]:
    """The case's arguments as copies on `device` with the same strides (for timing the torch reference)."""

    def move(value):
        if not isinstance(value, torch.Tensor):
            return value
        copy = torch.empty_strided(value.shape, value.stride(), dtype=value.dtype, device=device)
        return copy.copy_(value)

    return tuple(move(a) for a in case.args), {k: move(v) for k, v in case.kwargs.items()}


# ---- comparison --------------------------------------------------------------------------------------------


def compare(out: torch.Tensor, case: Case) -> tuple[bool, Message]:
    """FlagGems-style closeness of the candidate's output to the float64 reference in the tested dtype."""
    if out.dtype != case.dtype:
        return False, msg("test.wrong_dtype", got=_short(out.dtype), expected=_short(case.dtype))
    if tuple(out.shape) != tuple(case.expected.shape):
        return False, msg("test.wrong_shape", got=str(tuple(out.shape)), expected=str(tuple(case.expected.shape)))
    if out.numel() == 0:
        return True, msg("test.ok_empty")
    rtol = case.tolerance[1]
    atol = case.atol()
    if isinstance(atol, torch.Tensor):
        tol = f"atol={FP32_BOUND_FACTOR:g}*sqrt(K)*2^-24*sum|a*b| <= {float(atol.max()):.1e}, rtol={rtol:.1e}"
    else:
        tol = f"atol={atol:.1e}, rtol={rtol:.1e}"
    ref = case.expected.to(case.dtype).double()
    res = out.double()
    err = (res - ref).abs()
    close = (err <= atol + rtol * ref.abs()) | (res == ref)
    if bool(close.all()):
        return True, msg("test.ok", err=f"{float(err.nan_to_num(0.0).max()):.2e}", tol=tol)
    bad = ~close
    nans = int(torch.isnan(res).sum())
    index = tuple(int(i) for i in torch.nonzero(bad)[0])
    mismatch = msg(
        "test.mismatch",
        count=int(bad.sum()),
        total=out.numel(),
        tol=tol,
        index=str(index),
        got=f"{float(res[index]):.6g}",
        expected=f"{float(ref[index]):.6g}",
    )
    return False, (mismatch if not nans else msg("grade.joined", first=mismatch, second=msg("test.nans", count=nans)))


def _short(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")
