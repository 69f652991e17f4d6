"""Hidden tests for migrate_block: migrate_block(block, profile=...) must return a forward whose call on x
returns (out, taps). Every launch of the call is checked against the profile; every tap against a float64
reference computed from the candidate's own previous taps (one operation at a time, FlagGems tolerances), and the
output end to end against the float64 block. op_record(block, profile=...) is judged against the aten ops of the
block's torch forward. The torch-compute ban of the kind rejects any torch math in the forward (naming the op).
Public profiles and this run's hidden ones."""

import torch
from tinyblock import TAPS, BlockConfig, TinyLlamaBlock, weight_shapes

from gradelib.chips import block_product, label, run_profiles, tile_footprint
from gradelib.data_cases import Call, DataCase
from gradelib.forward_cases import ForwardCase
from gradelib.messages import Message, msg
from gradelib.triton_cases import Case, compare

KIND = "chip_profile"
ENTRY = "migrate_block"
FUNCTIONS = ("op_record",)
CALL_SECONDS = 60  # one whole block per call; the reference needs a few seconds

# The task's own hidden ranges (prompt): its smallest chips still hold a 256-element tile, so that a whole block
# runs in seconds in the interpreter. The other fields as for every L2 task.
RANGES = {
    "mlu-like": {"onchip_bytes": ("pow2", 8 << 10, 16 << 10), "max_block_numel": ("pow2", 1024, 4096)},
    "npu-like": {"onchip_bytes": ("pow2", 4 << 10, 8 << 10), "max_block_numel": ("pow2", 256, 512)},
}

# (config, seq): d_model 64, 2-4 heads, 1-2 KV heads, d_ff not a power of two, seq 8-16 (not always a power of two)
BLOCKS = [
    (BlockConfig(d_model=64, n_heads=4, n_kv_heads=2, d_ff=96, rope_theta=10000.0, eps=1e-6), 11),
    (BlockConfig(d_model=64, n_heads=2, n_kv_heads=1, d_ff=128, rope_theta=500000.0, eps=1e-5), 16),
    (BlockConfig(d_model=64, n_heads=4, n_kv_heads=1, d_ff=160, rope_theta=10000.0, eps=1e-6), 8),
]
DTYPES = (torch.float32, torch.float16)
# End to end: ||out - ref|| / ||ref|| against the float64 block.
END_TO_END = {torch.float32: 1e-5, torch.float16: 1e-2}
RECORD_CASES = 2  # op_record is asked on this many profiles (public first, then hidden)

# The aten ops the block's torch forward (tinyblock.TinyLlamaBlock.forward) runs, by name as FlagGems lists them.
# COMPUTE ops compute values: each must be replaced by a kernel. HOST ops are views and allocations the guard
# lets host code run: replaced, or left out ("unused") with a reason. tests/harness checks these against torch.
COMPUTE_OPS = (
    "_softmax",
    "add",
    "arange",
    "cat",
    "cos",
    "div",
    "masked_fill",
    "mean",
    "mm",
    "mul",
    "neg",
    "pow",
    "rsqrt",
    "silu",
    "sin",
    "triu",
)
HOST_OPS = ("ones", "select", "slice", "t", "transpose", "unsqueeze", "view")
MIN_REASON = 8


def make_block(config: BlockConfig, dtype: torch.dtype, gen: torch.Generator) -> TinyLlamaBlock:
    weights = {}
    for name, shape in weight_shapes(config).items():
        if len(shape) == 1:  # norm weights around 1
            w = 1.0 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:  # projections scaled so activations stay O(1)
            w = torch.randn(shape, generator=gen, dtype=torch.float64) / shape[1] ** 0.5
        weights[name] = w.to(dtype)
    return TinyLlamaBlock(config, weights)


def upcast(block: TinyLlamaBlock) -> TinyLlamaBlock:
    return TinyLlamaBlock(block.config, {n: w.double() for n, w in block.weights().items()})


def tap_references(ref: TinyLlamaBlock, x: torch.Tensor, taps: dict) -> dict[str, torch.Tensor]:
    """Each tap (and the output) in float64 from the candidate's own taps before it: one operation at a time."""
    c = {name: taps[name].double() for name in TAPS}
    attn = ref.self_attn
    q, k, v = attn.heads(c["attn_norm"])
    return {
        "attn_norm": ref.input_layernorm(x),
        "q_rope": q,
        "k_rope": k,
        "attn_out": attn.attend(c["q_rope"], c["k_rope"], v),
        "mlp_norm": ref.post_attention_layernorm(x + c["attn_out"]),
        "mlp_out": ref.mlp(c["mlp_norm"]),
        "output": x + c["attn_out"] + c["mlp_out"],
    }


def reduce_dims(config: BlockConfig, seq: int) -> dict[str, int]:
    """The reduction behind each element (FlagGems' atol = 1e-4 * reduce_dim)."""
    d = config.d_model
    return {
        "attn_norm": d,
        "q_rope": d,
        "k_rope": d,
        "attn_out": d + seq,
        "mlp_norm": d,
        "mlp_out": config.d_ff,
        "output": d,
    }


def block_judge(block: TinyLlamaBlock, x: torch.Tensor, seq: int):
    ref = upcast(block)
    x64 = x.double()
    with torch.no_grad():
        expected_out, expected_taps = ref(x64)
    shapes = {name: tuple(t.shape) for name, t in expected_taps.items()}
    dtype = x.dtype
    dims = reduce_dims(block.config, seq)

    def judge(out, taps: dict) -> tuple[bool, Message]:
        missing = [name for name in TAPS if name not in taps]
        if missing:
            return False, msg("block.missing_taps", missing=", ".join(missing), taps=", ".join(TAPS))
        unknown = sorted(name[:40] for name in set(taps) - set(TAPS))
        if unknown:
            return False, msg("block.unknown_taps", unknown=", ".join(unknown[:5]), taps=", ".join(TAPS))
        for name in TAPS:
            if tuple(taps[name].shape) != shapes[name]:
                got, expected = str(tuple(taps[name].shape)), str(shapes[name])
                return False, msg("block.tap_shape", name=name, got=got, expected=expected, meaning=TAPS[name])
        with torch.no_grad():
            refs = tap_references(ref, x64, taps)
        received = {**taps, "output": out}
        for name in (*TAPS, "output"):
            case = Case(name, (), refs[name], dtype, reduce_dim=dims[name])
            ok, message = compare(received[name], case)
            if not ok:
                return False, msg("test.in_tap", tap=name, detail=message) if name != "output" else msg(
                    "block.output", detail=message
                )
        error = float((out.double() - expected_out).norm() / expected_out.norm())
        if not error <= END_TO_END[dtype]:
            return False, msg("block.end_to_end", error=f"{error:.2e}", bound=f"{END_TO_END[dtype]:.0e}")
        return True, msg("block.ok", count=len(TAPS), error=f"{error:.1e}")

    return judge


def record_problem(record) -> Message | None:
    if type(record) is not dict or set(record) != {"replaced", "unused"}:
        return msg("record.keys")
    replaced, unused = record["replaced"], record["unused"]
    if type(replaced) is not list or any(type(op) is not str for op in replaced):
        return msg("record.replaced_type")
    if type(unused) is not dict or any(type(r) is not str for r in unused.values()):
        return msg("record.unused_type")
    known = set(COMPUTE_OPS) | set(HOST_OPS)
    named = [*replaced, *unused]
    strange = sorted(set(named) - known)
    if strange:
        return msg("record.strange", ops=", ".join(strange), known=", ".join(sorted(known)))
    both = sorted(set(replaced) & set(unused))
    if both:
        return msg("record.both", ops=", ".join(both))
    computing = sorted(op for op in unused if op in COMPUTE_OPS)
    if computing:
        return msg("record.computing", ops=", ".join(computing))
    missing = sorted(known - set(named))
    if missing:
        return msg("record.missing", ops=", ".join(missing))
    short = sorted(op for op, reason in unused.items() if len(reason.strip()) < MIN_REASON)
    if short:
        return msg("record.no_reason", ops=", ".join(short), least=MIN_REASON)
    return None


def record_judge(profile):
    def judge(values: list) -> tuple[bool, Message]:
        record = values[0]
        problem = record_problem(record)
        if problem:
            return False, msg("record.problem", chip=label(profile), problem=problem)
        unused = "; ".join(f"{op}: {reason}" for op, reason in sorted(record["unused"].items()))
        replaced = ", ".join(sorted(record["replaced"]))
        return True, msg("record.ok", replaced=replaced, unused=unused) if unused else msg(
            "record.ok_none", replaced=replaced
        )

    return judge


def forward_case(config: BlockConfig, seq: int, dtype: torch.dtype, profile, gen) -> ForwardCase:
    block = make_block(config, dtype, gen)
    x = torch.randn((seq, config.d_model), generator=gen, dtype=torch.float64).to(dtype)
    short = "fp32" if dtype == torch.float32 else "fp16"
    name = (
        f"{label(profile)}: block {short} seq={seq} d_model={config.d_model} heads={config.n_heads}/"
        f"{config.n_kv_heads} d_ff={config.d_ff}"
    )
    return ForwardCase(
        name=name,
        args=(block,),
        kwargs={"profile": profile},
        apply=(x,),
        judge=block_judge(block, x, seq),
        profile=profile,
        footprint=tile_footprint,
        tiles=block_product,
    )


def cases(gen: torch.Generator):
    out = []
    profiles = run_profiles(gen, RANGES)
    for i, profile in enumerate(profiles):
        config, seq = BLOCKS[i % len(BLOCKS)]
        out.append(forward_case(config, seq, DTYPES[i % len(DTYPES)], profile, gen))
    for profile in (profiles[0], profiles[-1])[:RECORD_CASES]:
        block = make_block(BLOCKS[0][0], torch.float32, gen)
        call = Call("op_record", (block,), {"profile": profile})
        out.append(DataCase(f"{label(profile)}: op_record(block)", (call,), record_judge(profile), profile))
    return out
