"""Hidden training instances drawn from the per-run seed. The ranges are public (the prompt lists them); the
draws are not. Chip profiles are invented exam parameters, not vendor specifications."""

from __future__ import annotations

import random

CHIPS = {
    "A800": {"mem_gib": 80, "bf16": 312, "hbm_gbps": 2000, "intra": 200, "inter": 25},
    "X910": {"mem_gib": 64, "bf16": 280, "hbm_gbps": 1600, "intra": 90, "inter": 25},
    "C550": {"mem_gib": 64, "bf16": 240, "hbm_gbps": 1800, "intra": 100, "inter": 20},
    "M32": {"mem_gib": 32, "bf16": 160, "hbm_gbps": 1200, "intra": 64, "inter": 12.5},
}
MODELS = {
    "7B": {"layers": 32, "hidden": 4096, "heads": 32, "kv_groups": 32, "ffn": 11008},
    "13B": {"layers": 40, "hidden": 5120, "heads": 40, "kv_groups": 40, "ffn": 13824},
    "34B": {"layers": 48, "hidden": 8192, "heads": 64, "kv_groups": 8, "ffn": 22016},
    "70B": {"layers": 80, "hidden": 8192, "heads": 64, "kv_groups": 8, "ffn": 28672},
}
# (name, model, chips of the groups, tied embeddings): the shapes of the hidden set. The last 70B instance puts a
# 32 GiB chip in the cluster, whose stages only fit with deep pipelines.
SHAPES = (
    ("7B on two chip types", "7B", ("A800", "X910"), False),
    ("13B on two chip types", "13B", ("X910", "C550"), False),
    ("13B, tied embeddings, three chip types", "13B", ("A800", "C550", "M32"), True),
    ("34B on three chip types", "34B", ("A800", "X910", "C550"), False),
    ("70B on two chip types", "70B", ("A800", "X910"), False),
    ("70B with a small-memory chip", "70B", ("X910", "M32"), False),
)


def _jitter(rng: random.Random, value: float, spread: float = 0.1) -> float:
    return round(value * rng.uniform(1 - spread, 1 + spread), 1)


def group(rng: random.Random, gid: str, chip: str) -> dict:
    c = CHIPS[chip]
    return {
        "id": gid,
        "chip": chip,
        "nodes": rng.choice((1, 2, 2, 3, 4)),
        "devices_per_node": 8,
        "mem_gib": c["mem_gib"],
        "tflops": {"bf16": _jitter(rng, c["bf16"]), "fp16": c["bf16"], "fp32": round(c["bf16"] / 16, 1)},
        "hbm_gbps": c["hbm_gbps"],
        "intra_node_gbps": _jitter(rng, c["intra"]),
        "inter_node_gbps": _jitter(rng, c["inter"]),
    }


def instance(rng: random.Random, shape) -> tuple[dict, dict, dict]:
    _, model_name, chips, tied = shape
    groups = [group(rng, f"g{i}", chip) for i, chip in enumerate(chips)]
    rng.shuffle(groups)  # the list order says nothing about where the pipeline should start
    cluster = {
        "node_groups": groups,
        "cross_group_gbps": _jitter(rng, 12.5, 0.2),
        "mem_reserve_frac": rng.choice((0.08, 0.1, 0.12)),
        "efficiency": rng.choice((0.4, 0.45, 0.5)),
    }
    model = {
        "name": f"llama-{model_name.lower()}",
        **MODELS[model_name],
        "vocab": rng.choice((32000, 64000)),
        "tied_embeddings": tied,
    }
    workload = {
        "kind": "train",
        "seq": rng.choice((2048, 4096)),
        "global_batch": rng.choice((256, 512, 1024)),
        "dtype": "bf16",
        "optimizer": "adam",
        "tokens_total": float(rng.choice((2e11, 5e11, 1e12))),
    }
    return cluster, model, workload
