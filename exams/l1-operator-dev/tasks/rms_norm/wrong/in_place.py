"""Wrong: normalises x in place to save an allocation (an in-place `rms_norm_`: the kernel stores into x's rows)
and returns it: the caller's input is overwritten, which the rules forbid."""

# expect: rejected modified its input tensors
import torch
import triton
import triton.language as tl


@triton.jit
def rms_norm_kernel(x_ptr, w_ptr, n_cols, x_row_stride, eps, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    x_row = x_ptr + row * x_row_stride
    cols = tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        x = tl.load(x_row + offs, mask=offs < n_cols, other=0.0).to(tl.float32)
        acc += x * x
    rstd = 1.0 / tl.sqrt(tl.sum(acc, axis=0) / n_cols + eps)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        mask = offs < n_cols
        x = tl.load(x_row + offs, mask=mask, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(x_row + offs, (x * rstd * w).to(x_ptr.dtype.element_ty), mask=mask)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    assert x.dim() == 2, "rms_norm expects a 2-D tensor"
    weight = weight.contiguous()
    n_rows, n_cols = x.shape
    if x.numel() == 0:
        return torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if x.stride(1) != 1:
        x = x.contiguous()
    BLOCK_N = min(triton.next_power_of_2(n_cols), 4096)
    rms_norm_kernel[(n_rows,)](x, weight, n_cols, x.stride(0), eps, BLOCK_N=BLOCK_N)
    return x
