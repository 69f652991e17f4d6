"""Reference solution for portable_softmax: the tile is sized from the chip's on-chip memory and block limit;
rows that fit one tile take the one-pass kernel, longer rows the looped (online max/sum) kernel."""

import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

NUM_STAGES = 1  # no software pipelining here: the footprint is BLOCK_N * elem * (2 + 1)


@triton.jit
def softmax_one_pass(x_ptr, out_ptr, n_cols, x_row_stride, out_row_stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    cols = tl.arange(0, BLOCK_N)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * x_row_stride + cols, mask=mask, other=float("-inf")).to(tl.float32)
    x = x - tl.max(x, axis=0)
    e = tl.exp(x)
    y = e / tl.sum(e, axis=0)
    tl.store(out_ptr + row * out_row_stride + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def softmax_looped(x_ptr, out_ptr, n_cols, x_row_stride, out_row_stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    x_row = x_ptr + row * x_row_stride
    out_row = out_ptr + row * out_row_stride
    cols = tl.arange(0, BLOCK_N)
    # Pass 1: running maximum and rescaled running sum per lane (online softmax).
    m = tl.full([BLOCK_N], float("-inf"), dtype=tl.float32)
    s = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        x = tl.load(x_row + offs, mask=offs < n_cols, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, x)
        # Lanes that have seen only -inf keep a zero sum (avoids -inf - -inf = nan).
        alpha = tl.where(m_new == float("-inf"), 0.0, tl.exp(m - m_new))
        p = tl.where(m_new == float("-inf"), 0.0, tl.exp(x - m_new))
        s = s * alpha + p
        m = m_new
    row_max = tl.max(m, axis=0)
    row_sum = tl.sum(tl.where(m == float("-inf"), 0.0, s * tl.exp(m - row_max)), axis=0)
    # Pass 2: normalise.
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        mask = offs < n_cols
        x = tl.load(x_row + offs, mask=mask, other=float("-inf")).to(tl.float32)
        tl.store(out_row + offs, (tl.exp(x - row_max) / row_sum).to(out_ptr.dtype.element_ty), mask=mask)


def _floor_pow2(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def launch_options(profile: ChipProfile, block: int) -> dict:
    """num_warps from the profile: omitted where the chip ignores it, else the largest allowed count whose
    threads fit the program limit and do not outnumber the tile's elements."""
    if profile.warps_ignored:
        return {}
    fitting = [w for w in profile.allowed_num_warps if w * profile.warp_size <= profile.max_threads_per_program]
    useful = [w for w in fitting if w * profile.warp_size <= max(block, profile.warp_size)]
    return {"num_warps": max(useful or [min(fitting)])}


def portable_softmax(x: torch.Tensor, *, profile: ChipProfile) -> torch.Tensor:
    assert x.dim() == 2, "portable_softmax expects a 2-D tensor"
    if x.stride(1) != 1:
        x = x.contiguous()
    n_rows, n_cols = x.shape
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    # Largest power-of-two tile the chip holds: footprint BLOCK_N * elem * (2 + num_stages) <= onchip_bytes.
    fits = profile.onchip_bytes // (x.element_size() * (2 + NUM_STAGES))
    cap = min(profile.max_block_numel, _floor_pow2(fits))
    want = triton.next_power_of_2(n_cols)
    kernel, block = (softmax_one_pass, want) if want <= cap else (softmax_looped, cap)
    kernel[(n_rows,)](x, out, n_cols, x.stride(0), out.stride(0), BLOCK_N=block, **launch_options(profile, block))
    return out
