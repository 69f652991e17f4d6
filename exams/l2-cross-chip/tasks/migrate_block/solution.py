"""Reference solution for migrate_block: the tiny Llama block with every computation in Triton kernels.

Host code only reads the block's sizes and weights, allocates the intermediates and makes views of them. Seven
kernels do the work: RMSNorm (looped over the row), a tiled linear layer y = x @ W^T, RoPE on q and k (angles
computed in the kernel), causal attention with an online softmax that reads KV head h // group_size for query
head h, the SwiGLU gate silu(g) * u, and the residual add. Every kernel accumulates in fp32 and stores the
tensor's own dtype.

Tile sizes come from the profile: every kernel's BLOCK* constexprs are powers of two whose product p keeps
p <= max_block_numel and p * elem * (2 + 1) <= onchip_bytes (the task's footprint; elem is the element size of
the block's dtype, the only dtype passed to a kernel); a dimension longer than its block is looped over
(reductions) or split across the grid (outputs). A tile is the 3-D product of a broadcast multiply (tl.dot needs dot_min tiles that the
smallest chips cannot hold).
"""

import math

import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

STAGES = 1  # num_stages is never passed; the footprint counts it as 1


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


@triton.jit
def linear_kernel(
    x_ptr,
    w_ptr,
    out_ptr,
    M,
    N,
    K,
    x_stride,
    w_stride,
    out_stride,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    EVEN_K: tl.constexpr,
):
    # out[m, n] = sum_k x[m, k] * w[n, k]  (w is (out_features, in_features), as nn.Linear keeps it). With
    # EVEN_K (BLOCK_K divides K) the loop needs no K mask, which saves a third of the interpreter's work per step.
    rows = tl.program_id(axis=0) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(axis=1) * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    a_ptrs = x_ptr + rows[:, None] * x_stride + ks[None, :]
    b_ptrs = w_ptr + cols[:, None] * w_stride + ks[None, :]
    row_ok = rows[:, None] < M
    col_ok = cols[:, None] < N
    acc = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for start in range(0, K, BLOCK_K):
        if EVEN_K:
            a = tl.load(a_ptrs, mask=row_ok, other=0.0).to(tl.float32)
            b = tl.load(b_ptrs, mask=col_ok, other=0.0).to(tl.float32)
        else:
            k_ok = (start + ks)[None, :] < K
            a = tl.load(a_ptrs, mask=row_ok & k_ok, other=0.0).to(tl.float32)
            b = tl.load(b_ptrs, mask=col_ok & k_ok, other=0.0).to(tl.float32)
        acc += tl.sum(a[:, None, :] * b[None, :, :], axis=2)
        a_ptrs += BLOCK_K
        b_ptrs += BLOCK_K
    mask = row_ok & (cols[None, :] < N)
    tl.store(out_ptr + rows[:, None] * out_stride + cols[None, :], acc.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def rope_kernel(
    src_ptr, out_ptr, seq, n_heads, half, src_stride, log2_theta, BLOCK_S: tl.constexpr, BLOCK_H: tl.constexpr
):
    # src: (seq, n_heads * head_dim) projections; out: (n_heads, seq, head_dim) contiguous, rotate-half RoPE:
    # out[:half] = x1 cos - x2 sin, out[half:] = x2 cos + x1 sin, angle = pos * theta^(-2i / head_dim).
    head = tl.program_id(axis=0)
    pos = tl.program_id(axis=1) * BLOCK_S + tl.arange(0, BLOCK_S)
    i = tl.program_id(axis=2) * BLOCK_H + tl.arange(0, BLOCK_H)
    head_dim = 2 * half
    mask = (pos[:, None] < seq) & (i[None, :] < half)
    inv_freq = tl.exp2(-(2.0 * i.to(tl.float32) / head_dim) * log2_theta)
    angle = pos.to(tl.float32)[:, None] * inv_freq[None, :]
    cos = tl.cos(angle)
    sin = tl.sin(angle)
    src = src_ptr + pos[:, None] * src_stride + head * head_dim + i[None, :]
    x1 = tl.load(src, mask=mask, other=0.0).to(tl.float32)
    x2 = tl.load(src + half, mask=mask, other=0.0).to(tl.float32)
    dst = out_ptr + head * seq * head_dim + pos[:, None] * head_dim + i[None, :]
    tl.store(dst, (x1 * cos - x2 * sin).to(out_ptr.dtype.element_ty), mask=mask)
    tl.store(dst + half, (x2 * cos + x1 * sin).to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def attention_kernel(
    q_ptr,
    k_ptr,
    v_ptr,
    out_ptr,
    seq,
    head_dim,
    group_size,
    v_stride,
    out_stride,
    scale,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    # q: (n_heads, seq, hd), k: (n_kv_heads, seq, hd) contiguous; v: (seq, n_kv_heads * hd) projections;
    # out: (seq, n_heads * hd). Query head h reads KV head h // group_size. This program owns query rows
    # [m0, m0 + BLOCK_M) and output columns [d0, d0 + BLOCK_D) of its head; scores are summed over all of hd.
    head = tl.program_id(axis=0)
    kv = head // group_size
    rows = tl.program_id(axis=1) * BLOCK_M + tl.arange(0, BLOCK_M)
    dcols = tl.program_id(axis=2) * BLOCK_D + tl.arange(0, BLOCK_D)
    ds = tl.arange(0, BLOCK_D)
    q_base = q_ptr + head * seq * head_dim
    k_base = k_ptr + kv * seq * head_dim
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    last = tl.minimum(tl.program_id(axis=1) * BLOCK_M + BLOCK_M, seq)  # causal: keys up to the last row
    for n0 in range(0, last, BLOCK_N):
        keys = n0 + tl.arange(0, BLOCK_N)
        scores = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
        for d0 in range(0, head_dim, BLOCK_D):
            d = d0 + ds
            q = tl.load(
                q_base + rows[:, None] * head_dim + d[None, :],
                mask=(rows[:, None] < seq) & (d[None, :] < head_dim),
                other=0.0,
            ).to(tl.float32)
            k = tl.load(
                k_base + keys[:, None] * head_dim + d[None, :],
                mask=(keys[:, None] < seq) & (d[None, :] < head_dim),
                other=0.0,
            ).to(tl.float32)
            scores += tl.sum(q[:, None, :] * k[None, :, :], axis=2)
        allowed = (keys[None, :] <= rows[:, None]) & (keys[None, :] < seq)
        scores = tl.where(allowed, scores * scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(scores, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(scores - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        v = tl.load(
            v_ptr + keys[:, None] * v_stride + kv * head_dim + dcols[None, :],
            mask=(keys[:, None] < seq) & (dcols[None, :] < head_dim),
            other=0.0,
        ).to(tl.float32)
        acc = acc * alpha[:, None] + tl.sum(p[:, :, None] * v[None, :, :], axis=1)
        m_i = m_new
    out = acc / l_i[:, None]
    mask = (rows[:, None] < seq) & (dcols[None, :] < head_dim)
    dst = out_ptr + rows[:, None] * out_stride + head * head_dim + dcols[None, :]
    tl.store(dst, out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def silu_mul_kernel(g_ptr, u_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(axis=0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    u = tl.load(u_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + offs, (g / (1.0 + tl.exp(-g)) * u).to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def add_kernel(a_ptr, b_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(axis=0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    a = tl.load(a_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + offs, (a + b).to(out_ptr.dtype.element_ty), mask=mask)


# ---- sizing from the profile ----------------------------------------------------------------------------------


def tile_limit(profile: ChipProfile, elem: int) -> int:
    """The largest power-of-two product of BLOCK* constexprs this chip allows in one launch whose widest
    floating-point tensor has `elem` bytes per element."""
    by_memory = profile.onchip_bytes // (elem * (2 + STAGES))
    limit = min(profile.max_block_numel, by_memory)
    return 1 << (max(1, limit).bit_length() - 1)


def blocks(wanted: list[int], profile: ChipProfile, elem: int) -> list[int]:
    """Powers of two covering `wanted` where they fit, halving the largest until the product fits the chip."""
    out = [triton.next_power_of_2(max(1, w)) for w in wanted]
    limit = tile_limit(profile, elem)
    while math.prod(out) > limit:
        i = out.index(max(out))
        out[i] //= 2
    return out


def launch_options(profile: ChipProfile, numel: int) -> dict:
    """num_warps only where the chip uses it: the most that fit max_threads_per_program and have work."""
    if profile.warps_ignored:
        return {}
    fitting = [w for w in profile.allowed_num_warps if w * profile.warp_size <= profile.max_threads_per_program]
    useful = [w for w in fitting if w * profile.warp_size <= max(numel, profile.warp_size)]
    return {"num_warps": max(useful or [min(fitting)])}


# ---- one launch per operation ---------------------------------------------------------------------------------


def rms_norm(x, weight, eps, profile):
    rows, cols = x.shape
    out = torch.empty((rows, cols), dtype=x.dtype, device=x.device)
    (block,) = blocks([cols], profile, x.element_size())
    opts = launch_options(profile, block)
    rms_norm_kernel[(rows,)](x, weight, out, cols, x.stride(0), out.stride(0), eps, BLOCK_N=block, **opts)
    return out


def linear(x, weight, profile):
    M, K = x.shape
    N = weight.shape[0]
    out = torch.empty((M, N), dtype=x.dtype, device=x.device)
    bm, bn, bk = blocks([M, N, K], profile, x.element_size())
    grid = (triton.cdiv(M, bm), triton.cdiv(N, bn))
    opts = launch_options(profile, bm * bn)
    linear_kernel[grid](
        x,
        weight,
        out,
        M,
        N,
        K,
        x.stride(0),
        weight.stride(0),
        out.stride(0),
        BLOCK_M=bm,
        BLOCK_N=bn,
        BLOCK_K=bk,
        EVEN_K=K % bk == 0,
        **opts,
    )
    return out


def rope(proj, n_heads, head_dim, theta, profile):
    seq = proj.shape[0]
    out = torch.empty((n_heads, seq, head_dim), dtype=proj.dtype, device=proj.device)
    half = head_dim // 2
    bs, bh = blocks([seq, half], profile, proj.element_size())
    grid = (n_heads, triton.cdiv(seq, bs), triton.cdiv(half, bh))
    opts = launch_options(profile, bs * bh)
    rope_kernel[grid](proj, out, seq, n_heads, half, proj.stride(0), math.log2(theta), BLOCK_S=bs, BLOCK_H=bh, **opts)
    return out


def attention(q, k, v_proj, config, profile):
    n_heads, seq, head_dim = q.shape
    out = torch.empty((seq, n_heads * head_dim), dtype=q.dtype, device=q.device)
    bm, bn, bd = blocks([seq, seq, head_dim], profile, q.element_size())
    grid = (n_heads, triton.cdiv(seq, bm), triton.cdiv(head_dim, bd))
    opts = launch_options(profile, bm * bd)
    attention_kernel[grid](
        q,
        k,
        v_proj,
        out,
        seq,
        head_dim,
        config.n_heads // config.n_kv_heads,
        v_proj.stride(0),
        out.stride(0),
        1.0 / math.sqrt(head_dim),
        BLOCK_M=bm,
        BLOCK_N=bn,
        BLOCK_D=bd,
        **opts,
    )
    return out


def elementwise(kernel, a, b, profile):
    out = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    n = a.numel()
    (block,) = blocks([n], profile, a.element_size())
    kernel[(triton.cdiv(n, block),)](a, b, out, n, BLOCK=block, **launch_options(profile, block))
    return out


def migrate_block(block, *, profile: ChipProfile):
    """A forward for `block` (tinyblock.TinyLlamaBlock) on this chip: x (seq, d_model) -> (out, taps)."""
    config = block.config
    attn = block.self_attn
    mlp = block.mlp

    def forward(x):
        attn_norm = rms_norm(x, block.input_layernorm.weight, config.eps, profile)
        q = rope(
            linear(attn_norm, attn.q_proj.weight, profile), config.n_heads, config.head_dim, config.rope_theta, profile
        )
        k = rope(
            linear(attn_norm, attn.k_proj.weight, profile),
            config.n_kv_heads,
            config.head_dim,
            config.rope_theta,
            profile,
        )
        v = linear(attn_norm, attn.v_proj.weight, profile)
        attn_out = linear(attention(q, k, v, config, profile), attn.o_proj.weight, profile)
        h = elementwise(add_kernel, x, attn_out, profile)
        mlp_norm = rms_norm(h, block.post_attention_layernorm.weight, config.eps, profile)
        gate = linear(mlp_norm, mlp.gate_proj.weight, profile)
        up = linear(mlp_norm, mlp.up_proj.weight, profile)
        mlp_out = linear(elementwise(silu_mul_kernel, gate, up, profile), mlp.down_proj.weight, profile)
        out = elementwise(add_kernel, h, mlp_out, profile)
        taps = {
            "attn_norm": attn_norm,
            "q_rope": q,
            "k_rope": k,
            "attn_out": attn_out,
            "mlp_norm": mlp_norm,
            "mlp_out": mlp_out,
        }
        return out, taps

    return forward


def op_record(block, *, profile: ChipProfile) -> dict:
    """Which aten ops of the block's torch forward these kernels replace, and which stay on the host, and why."""
    return {
        "replaced": [
            "mm",
            "pow",
            "mean",
            "add",
            "rsqrt",
            "mul",
            "div",
            "arange",
            "cat",
            "cos",
            "sin",
            "neg",
            "triu",
            "masked_fill",
            "_softmax",
            "silu",
        ],
        "unused": {
            "t": "a view: linear_kernel reads W with its row stride instead",
            "view": "a view: heads are addressed by offsets into the projection",
            "transpose": "a view: the RoPE kernel writes (heads, seq, head_dim) directly",
            "select": "a view: the attention kernel offsets to its head and KV head",
            "slice": "a view: rotate-half reads the two halves by offset",
            "unsqueeze": "a view: positions and frequencies broadcast inside the kernel",
            "ones": "allocation of the causal mask, which the attention kernel computes from indices instead",
        },
    }
