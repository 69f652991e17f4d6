"""Wrong: writes tanh(z) as (exp(2z) - 1) / (exp(2z) + 1), which is inf / inf = NaN once exp overflows float32
(x above about 10): the saturated tail is not handled."""

# expect: failed output elements are NaN
import torch
import triton
import triton.language as tl


@triton.jit
def gelu_kernel(x_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask).to(tl.float32)
    # sqrt(2 / pi)
    inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    e2z = tl.exp(2.0 * inner)
    tanh = (e2z - 1.0) / (e2z + 1.0)
    y = 0.5 * x * (1.0 + tanh)
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


def gelu(x: torch.Tensor) -> torch.Tensor:
    x = x.contiguous()
    out = torch.empty_like(x)
    n_elements = out.numel()
    if n_elements == 0:
        return out
    BLOCK_SIZE = 1024
    grid = (triton.cdiv(n_elements, BLOCK_SIZE),)
    gelu_kernel[grid](x, out, n_elements, BLOCK_SIZE=BLOCK_SIZE)
    return out
