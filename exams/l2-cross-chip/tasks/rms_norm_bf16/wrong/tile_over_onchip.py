"""Wrong: sizes the tile by the block limit alone, so it can exceed the on-chip memory."""

# expect: failed > on-chip
import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

NUM_STAGES = 1  # footprint BLOCK_N * 4 * (2 + 1) bytes


@triton.jit
def _widen(bits):
    # bf16 is the top half of an fp32: zero-extend the 16 bits, shift them up, reinterpret.
    u = bits.to(tl.int32) & 0xFFFF
    return (u << 16).to(tl.float32, bitcast=True)


@triton.jit
def _round_bf16(y):
    # Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit, then drop the low 16 bits.
    u = y.to(tl.int32, bitcast=True)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return (r & 0xFFFF).to(tl.int16)


@triton.jit
def rms_norm_bits_kernel(
    x_ptr, w_ptr, out_ptr, n_cols, x_row_stride, x_col_stride, out_row_stride, eps, BLOCK_N: tl.constexpr
):
    row = tl.program_id(axis=0)
    x_row = x_ptr + row * x_row_stride
    out_row = out_ptr + row * out_row_stride
    cols = tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        x = _widen(tl.load(x_row + offs * x_col_stride, mask=offs < n_cols, other=0))
        acc += x * x
    inv = tl.rsqrt(tl.sum(acc, axis=0) / n_cols + eps)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        mask = offs < n_cols
        x = _widen(tl.load(x_row + offs * x_col_stride, mask=mask, other=0))
        w = _widen(tl.load(w_ptr + offs, mask=mask, other=0))
        tl.store(out_row + offs, _round_bf16(x * inv * w), mask=mask)


def _floor_pow2(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def launch_options(profile: ChipProfile, block: int) -> dict:
    if profile.warps_ignored:
        return {}
    fitting = [w for w in profile.allowed_num_warps if w * profile.warp_size <= profile.max_threads_per_program]
    useful = [w for w in fitting if w * profile.warp_size <= max(block, profile.warp_size)]
    return {"num_warps": max(useful or [min(fitting)])}


def rms_norm_bf16(x_bits: torch.Tensor, w_bits: torch.Tensor, eps: float, *, profile: ChipProfile) -> torch.Tensor:
    assert x_bits.dim() == 2 and x_bits.dtype == torch.int16 and w_bits.dtype == torch.int16
    n_rows, n_cols = x_bits.shape
    out = torch.empty((n_rows, n_cols), dtype=torch.int16, device=x_bits.device)
    if out.numel() == 0:
        return out
    w_bits = w_bits.contiguous()
    fits = profile.onchip_bytes // (4 * (2 + NUM_STAGES))
    block = min(triton.next_power_of_2(n_cols), profile.max_block_numel)  # forgets the on-chip budget
    rms_norm_bits_kernel[(n_rows,)](
        x_bits,
        w_bits,
        out,
        n_cols,
        x_bits.stride(0),
        x_bits.stride(1),
        out.stride(0),
        eps,
        BLOCK_N=block,
        **launch_options(profile, block),
    )
    return out
