import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile


@triton.jit
def rms_norm_bits_kernel(x_ptr, w_ptr, out_ptr, n_cols, x_row_stride, out_row_stride, eps, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    # TODO: widen the int16 bits to fp32 with an integer shift and a bitcast (bf16 is the top half of an fp32),
    # loop over the row in BLOCK_N tiles for the sum of squares, normalise, multiply by the weight, and round
    # back to bf16 nearest-even with integer ops before storing int16 bits.


def rms_norm_bf16(x_bits: torch.Tensor, w_bits: torch.Tensor, eps: float, *, profile: ChipProfile) -> torch.Tensor:
    n_rows, n_cols = x_bits.shape
    out = torch.empty((n_rows, n_cols), dtype=torch.int16, device=x_bits.device)
    # TODO: size BLOCK_N from profile.onchip_bytes (footprint BLOCK_N * 4 * (2 + num_stages)) and
    # profile.max_block_numel; pass num_warps only where the chip uses it.
    BLOCK_N = min(triton.next_power_of_2(max(n_cols, 1)), 1024)
    rms_norm_bits_kernel[(n_rows,)](x_bits, w_bits, out, n_cols, x_bits.stride(0), out.stride(0), eps, BLOCK_N=BLOCK_N)
    return out
