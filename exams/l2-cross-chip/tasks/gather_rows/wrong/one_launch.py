"""Wrong: narrows the index but gathers in one launch, whose src span breaks max_index."""

# expect: failed ≥ max_index
import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

NUM_STAGES = 1  # footprint BLOCK_R * BLOCK_C * elem * (2 + 1)
INT32_ROWS = 2**31 - 1


@triton.jit
def gather_chunk_kernel(
    src_ptr,
    index_ptr,
    out_ptr,
    n_out,
    n_cols,
    chunk_start,
    chunk_rows,
    src_row_stride,
    out_row_stride,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    rows = tl.program_id(axis=0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.program_id(axis=1) * BLOCK_C + tl.arange(0, BLOCK_C)
    row_ok = rows < n_out
    local = tl.load(index_ptr + rows, mask=row_ok, other=-1) - chunk_start
    # Only the output rows whose source row lies in this launch's chunk are written here.
    mine = row_ok & (local >= 0) & (local < chunk_rows)
    mask = mine[:, None] & (cols[None, :] < n_cols)
    values = tl.load(src_ptr + local[:, None] * src_row_stride + cols[None, :], mask=mask, other=0)
    tl.store(out_ptr + rows[:, None] * out_row_stride + cols[None, :], values, mask=mask)


def _floor_pow2(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


def _options(profile: ChipProfile, block: int) -> dict:
    if profile.warps_ignored:
        return {}
    fitting = [w for w in profile.allowed_num_warps if w * profile.warp_size <= profile.max_threads_per_program]
    useful = [w for w in fitting if w * profile.warp_size <= max(block, profile.warp_size)]
    return {"num_warps": max(useful or [min(fitting)])}


def gather_rows(src: torch.Tensor, index: torch.Tensor, *, profile: ChipProfile) -> torch.Tensor:
    n_rows, n_cols = src.shape
    wide_index = "int64" in profile.dtypes
    if not wide_index:
        # Checked before anything else: without int64 every address must fit the chip's narrow indices.
        if n_rows > INT32_ROWS:
            raise ValueError(f"src has {n_rows} rows: row numbers do not fit int32 on this chip")
        if n_cols >= profile.max_index:
            raise ValueError(f"a row of {n_cols} elements is beyond max_index {profile.max_index} on this chip")
    n_out = index.shape[0]
    out = torch.empty((n_out, n_cols), dtype=src.dtype, device=src.device)
    if out.numel() == 0:
        return out
    if src.stride(1) != 1:
        src = src.contiguous()
    # Row numbers are < n_rows <= 2**31 - 1, so the narrowing is exact.
    idx = index.contiguous() if wide_index else index.to(torch.int32)
    # Tile: BLOCK_R * BLOCK_C elements within max_block_numel and the on-chip budget.
    fits = profile.onchip_bytes // (src.element_size() * (2 + NUM_STAGES))
    cap = min(profile.max_block_numel, _floor_pow2(fits))
    block_c = min(triton.next_power_of_2(n_cols), cap)
    block_r = max(1, min(cap // block_c, triton.next_power_of_2(n_out)))
    # Rows per launch: the chunk's span (rows - 1) * stride + n_cols stays below max_index.
    stride = src.stride(0)
    if True:  # one launch over the whole of src
        chunk = n_rows
    else:
        chunk = max(1, (profile.max_index - 1 - n_cols) // max(stride, 1) + 1)
    grid = (triton.cdiv(n_out, block_r), triton.cdiv(n_cols, block_c))
    for start in range(0, n_rows, chunk):
        rows = min(chunk, n_rows - start)
        gather_chunk_kernel[grid](
            src[start : start + rows],
            idx,
            out,
            n_out,
            n_cols,
            start,
            rows,
            stride,
            out.stride(0),
            BLOCK_R=block_r,
            BLOCK_C=block_c,
            **_options(profile, block_r * block_c),
        )
    return out
