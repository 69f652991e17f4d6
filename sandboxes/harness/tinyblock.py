"""The tiny Llama decoder block of the L2 task migrate_block: `from tinyblock import TinyLlamaBlock`.

One sequence `x` of shape (seq, d_model) goes through
    RMSNorm -> q/k/v projections -> RoPE on q and k -> causal attention with grouped KV heads -> o_proj -> residual
    -> RMSNorm -> SwiGLU MLP (down(silu(gate(h)) * up(h))) -> residual.
Parameter names follow Hugging Face's LlamaDecoderLayer. `forward` is the plain torch reference; it returns the
output and the named intermediate results (TAPS) the task checks one by one. The grader builds the block from
its weights (no initialisation runs), in the dtype of the case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

# The intermediate results forward() returns, with their shapes.
TAPS = {
    "attn_norm": "(seq, d_model): input_layernorm(x)",
    "q_rope": "(n_heads, seq, head_dim): the queries after RoPE",
    "k_rope": "(n_kv_heads, seq, head_dim): the keys after RoPE, before they are shared by a group",
    "attn_out": "(seq, d_model): o_proj(attention), before the residual",
    "mlp_norm": "(seq, d_model): post_attention_layernorm(x + attn_out)",
    "mlp_out": "(seq, d_model): down_proj(silu(gate_proj(h)) * up_proj(h)), before the residual",
}


@dataclass(frozen=True)
class BlockConfig:
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    rope_theta: float = 10000.0
    eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError("d_model must divide into n_heads, and n_heads into n_kv_heads groups")
        if (self.d_model // self.n_heads) % 2:
            raise ValueError("head_dim must be even (RoPE rotates pairs)")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def group_size(self) -> int:
        """Query heads per KV head: query head h uses KV head h // group_size."""
        return self.n_heads // self.n_kv_heads


def weight_shapes(config: BlockConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter of the block by its dotted name, with its shape ((out, in) for projections)."""
    d, hd, f = config.d_model, config.head_dim, config.d_ff
    return {
        "input_layernorm.weight": (d,),
        "self_attn.q_proj.weight": (config.n_heads * hd, d),
        "self_attn.k_proj.weight": (config.n_kv_heads * hd, d),
        "self_attn.v_proj.weight": (config.n_kv_heads * hd, d),
        "self_attn.o_proj.weight": (d, config.n_heads * hd),
        "post_attention_layernorm.weight": (d,),
        "mlp.gate_proj.weight": (f, d),
        "mlp.up_proj.weight": (f, d),
        "mlp.down_proj.weight": (d, f),
    }


def _param(weight: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(weight, requires_grad=False)


class RMSNorm(nn.Module):
    def __init__(self, weight: torch.Tensor, eps: float) -> None:
        super().__init__()
        self.weight = _param(weight)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Linear(nn.Module):
    """y = x @ weight.T, without a bias (weight is (out_features, in_features))."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = _param(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.t()


def rope_angles(seq: int, head_dim: int, theta: float, dtype=torch.float64):
    """cos and sin of shape (seq, head_dim): position p, pair i (i < head_dim/2) turns by p * theta^(-2i/head_dim);
    both halves of the last dim repeat the head_dim/2 angles (the rotate-half layout)."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=dtype) / head_dim)
    angles = torch.arange(seq, dtype=dtype)[:, None] * inv_freq[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """t (heads, seq, head_dim): t * cos + rotate_half(t) * sin, rotate_half(t) = cat(-t[..., d/2:], t[..., :d/2])."""
    half = t.shape[-1] // 2
    rotated = torch.cat((-t[..., half:], t[..., :half]), dim=-1)
    return t * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, config: BlockConfig, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.config = config
        self.q_proj = Linear(weights["self_attn.q_proj.weight"])
        self.k_proj = Linear(weights["self_attn.k_proj.weight"])
        self.v_proj = Linear(weights["self_attn.v_proj.weight"])
        self.o_proj = Linear(weights["self_attn.o_proj.weight"])

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q (n_heads, seq, hd) and k (n_kv_heads, seq, hd) after RoPE, and v (n_kv_heads, seq, hd)."""
        c = self.config
        seq = x.shape[0]
        q = self.q_proj(x).view(seq, c.n_heads, c.head_dim).transpose(0, 1)
        k = self.k_proj(x).view(seq, c.n_kv_heads, c.head_dim).transpose(0, 1)
        v = self.v_proj(x).view(seq, c.n_kv_heads, c.head_dim).transpose(0, 1)
        cos, sin = rope_angles(seq, c.head_dim, c.rope_theta, dtype=x.dtype)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Causal softmax(q k^T / sqrt(hd)) v per query head, KV head h // group_size, then o_proj: (seq, d)."""
        c = self.config
        seq = q.shape[1]
        future = torch.ones(seq, seq, dtype=torch.bool).triu(1)
        outs = []
        for h in range(c.n_heads):
            kv = h // c.group_size
            scores = (q[h] @ k[kv].t()) * (c.head_dim**-0.5)
            probs = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            outs.append(probs @ v[kv])
        return self.o_proj(torch.cat(outs, dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attend(*self.heads(x))


class MLP(nn.Module):
    def __init__(self, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.gate_proj = Linear(weights["mlp.gate_proj.weight"])
        self.up_proj = Linear(weights["mlp.up_proj.weight"])
        self.down_proj = Linear(weights["mlp.down_proj.weight"])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))


class TinyLlamaBlock(nn.Module):
    """The block, built from its weights (`weight_shapes(config)` names them); `config` holds the sizes,
    rope_theta and eps."""

    def __init__(self, config: BlockConfig, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        expected = weight_shapes(config)
        if set(weights) != set(expected):
            raise ValueError(f"weights differ from the block's: {sorted(set(weights) ^ set(expected))}")
        for name, shape in expected.items():
            if tuple(weights[name].shape) != shape:
                raise ValueError(f"{name} has shape {tuple(weights[name].shape)}, expected {shape}")
        self.config = config
        self.input_layernorm = RMSNorm(weights["input_layernorm.weight"], config.eps)
        self.self_attn = Attention(config, weights)
        self.post_attention_layernorm = RMSNorm(weights["post_attention_layernorm.weight"], config.eps)
        self.mlp = MLP(weights)

    def weights(self) -> dict[str, torch.Tensor]:
        """Every parameter by its dotted name (the tensors themselves, not copies)."""
        return {name: p.data for name, p in self.named_parameters()}

    def wire_config(self) -> dict:
        return asdict(self.config)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        attn_norm = self.input_layernorm(x)
        q, k, v = self.self_attn.heads(attn_norm)
        attn_out = self.self_attn.attend(q, k, v)
        h = x + attn_out
        mlp_norm = self.post_attention_layernorm(h)
        mlp_out = self.mlp(mlp_norm)
        taps = {
            "attn_norm": attn_norm,
            "q_rope": q,
            "k_rope": k,
            "attn_out": attn_out,
            "mlp_norm": mlp_norm,
            "mlp_out": mlp_out,
        }
        return h + mlp_out, taps


def build(config: dict, weights: dict[str, torch.Tensor]) -> TinyLlamaBlock:
    """A block from a wire config (BlockConfig's fields) and its weights."""
    return TinyLlamaBlock(BlockConfig(**config), weights)
