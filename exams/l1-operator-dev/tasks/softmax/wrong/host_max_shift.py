"""Wrong: subtracts the row maximum on the host with torch (x - x.max(...)) before the kernel: the stabilising
step is torch computing, which the rules forbid."""

# expect: rejected .max() computes with torch outside a Triton kernel
import torch
import triton
import triton.language as tl


@triton.jit
def softmax_kernel(x_ptr, out_ptr, n_cols, x_row_stride, out_row_stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    x_row = x_ptr + row * x_row_stride
    out_row = out_ptr + row * out_row_stride
    cols = tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        x = tl.load(x_row + offs, mask=offs < n_cols, other=float("-inf")).to(tl.float32)
        acc += tl.exp(x)
    row_sum = tl.sum(acc, axis=0)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        mask = offs < n_cols
        x = tl.load(x_row + offs, mask=mask, other=float("-inf")).to(tl.float32)
        tl.store(out_row + offs, (tl.exp(x) / row_sum).to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    assert x.dim() == 2, "softmax expects a 2-D tensor"
    n_rows, n_cols = x.shape
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    # Shift every row by its maximum so that exp cannot overflow in the kernel.
    shifted = (x - x.max(dim=1, keepdim=True).values).contiguous()
    BLOCK_N = min(triton.next_power_of_2(n_cols), 4096)
    softmax_kernel[(n_rows,)](shifted, out, n_cols, shifted.stride(0), out.stride(0), BLOCK_N=BLOCK_N)
    return out
