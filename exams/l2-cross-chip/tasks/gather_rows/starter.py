import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile


@triton.jit
def gather_kernel(
    src_ptr,
    index_ptr,
    out_ptr,
    n_out,
    n_cols,
    src_row_stride,
    out_row_stride,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    rows = tl.program_id(axis=0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.program_id(axis=1) * BLOCK_C + tl.arange(0, BLOCK_C)
    # TODO: load the row numbers for these output rows, then copy src[row, cols] into out[rows, cols] (masked).


def gather_rows(src: torch.Tensor, index: torch.Tensor, *, profile: ChipProfile) -> torch.Tensor:
    n_rows, n_cols = src.shape
    n_out = index.shape[0]
    out = torch.empty((n_out, n_cols), dtype=src.dtype, device=src.device)
    # TODO: on a chip without int64 ("int64" not in profile.dtypes): raise ValueError for shapes that cannot be
    # served, narrow the index to int32, and split src into row chunks whose span stays below profile.max_index.
    BLOCK_R, BLOCK_C = 16, 16
    grid = (triton.cdiv(n_out, BLOCK_R), triton.cdiv(n_cols, BLOCK_C))
    gather_kernel[grid](src, index, out, n_out, n_cols, src.stride(0), out.stride(0), BLOCK_R=BLOCK_R, BLOCK_C=BLOCK_C)
    return out
