import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

STAGES = 1  # a launch without num_stages counts as 1 in the footprint


@triton.jit
def rms_norm_kernel(x_ptr, w_ptr, out_ptr, n_cols, x_stride, out_stride, eps, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    cols = tl.arange(0, BLOCK_N)
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        x = tl.load(x_ptr + row * x_stride + offs, mask=offs < n_cols, other=0.0).to(tl.float32)
        acc += x * x
    inv = tl.rsqrt(tl.sum(acc, axis=0) / n_cols + eps)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        mask = offs < n_cols
        x = tl.load(x_ptr + row * x_stride + offs, mask=mask, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(out_ptr + row * out_stride + offs, (x * inv * w).to(out_ptr.dtype.element_ty), mask=mask)


# TODO: kernels for the linear layers (y = x @ W^T), RoPE on q and k, causal attention with grouped KV heads
# (query head h reads KV head h // group_size), silu(gate) * up and the residual adds.


def tile_limit(profile: ChipProfile, elem: int) -> int:
    """The largest power-of-two product of BLOCK* constexprs a launch may use (footprint and max_block_numel)."""
    limit = min(profile.max_block_numel, profile.onchip_bytes // (elem * (2 + STAGES)))
    return 1 << (max(1, limit).bit_length() - 1)


def rms_norm(x, weight, eps, profile):
    rows, cols = x.shape
    out = torch.empty((rows, cols), dtype=x.dtype, device=x.device)
    block = min(triton.next_power_of_2(cols), tile_limit(profile, x.element_size()))
    opts = {} if profile.warps_ignored else {"num_warps": min(profile.allowed_num_warps)}
    rms_norm_kernel[(rows,)](x, weight, out, cols, x.stride(0), out.stride(0), eps, BLOCK_N=block, **opts)
    return out


def migrate_block(block, *, profile: ChipProfile):
    config = block.config

    def forward(x):
        attn_norm = rms_norm(x, block.input_layernorm.weight, config.eps, profile)
        # TODO: q_rope, k_rope, attn_out, mlp_norm, mlp_out and the output, each computed by your kernels.
        out = torch.empty_like(x)
        return out, {"attn_norm": attn_norm}

    return forward


def op_record(block, *, profile: ChipProfile) -> dict:
    # TODO: every aten op of the block's torch forward, replaced or left out ("unused") with a reason.
    return {"replaced": ["mean", "rsqrt"], "unused": {}}
