"""The chip capability profile an L2 (`chip_profile`) exam task is written for: `from chipprofile import ChipProfile`.

The grader passes one to every call as the keyword argument `profile`. Derive every choice (block sizes, warps,
stages, chunking, dtypes) from its fields; the grader also uses hidden profiles drawn within published ranges,
whose names are meaningless. `PUBLIC_PROFILES` are the public profiles, for trying a solution locally, and
`HIDDEN_RANGES` the ranges the hidden ones are drawn from.

This module is the one source of both: exams/l2-cross-chip/profiles/*.yaml are written from it
(`certplatform content chip-profiles`), and `certplatform content validate` fails when a file differs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

DTYPES = ("fp64", "fp32", "fp16", "bf16", "int64", "int32")
_TORCH_NAMES = {
    "float64": "fp64",
    "float32": "fp32",
    "float16": "fp16",
    "bfloat16": "bf16",
    "int64": "int64",
    "int32": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}
# Every chip handles these (byte-sized and 16-bit integer storage, e.g. bf16 bits viewed as int16).
ALWAYS = frozenset({"int16", "int8", "uint8", "bool"})


def dtype_key(dtype) -> str:
    """'fp32', 'bf16', 'int64', ... for a torch dtype (or its name)."""
    name = str(dtype).replace("torch.", "")
    return _TORCH_NAMES.get(name, name)


@dataclass(frozen=True)
class ChipProfile:
    name: str  # a label only: never branch on it
    warp_size: int  # 32 or 64 lanes
    allowed_num_warps: tuple[int, ...] | None  # None: the chip ignores num_warps (do not pass it)
    max_threads_per_program: int  # num_warps * warp_size may not exceed it
    onchip_bytes: int  # on-chip memory one program's tile may use (the task's footprint formula)
    max_block_numel: int  # every BLOCK* constexpr is a power of two and their product is at most this
    max_grid: tuple[int, int, int]  # programs per grid axis
    compute_units: int  # programs that run at once (SMs, clusters, AI cores)
    dtypes: frozenset[str]  # subset of fp64/fp32/fp16/bf16/int64/int32 the chip computes with
    max_index: int  # flat element index span one launch may address through a pointer without int64
    dot_min: tuple[int, int, int]  # smallest (M, N, K) tile tl.dot accepts
    num_stages_max: int  # largest num_stages; a launch without num_stages counts as 1

    def __post_init__(self) -> None:
        unknown = set(self.dtypes) - set(DTYPES)
        if unknown:
            raise ValueError(f"unknown dtypes {sorted(unknown)}")
        if self.warp_size not in (32, 64):
            raise ValueError("warp_size must be 32 or 64")
        if len(self.max_grid) != 3 or len(self.dot_min) != 3:
            raise ValueError("max_grid and dot_min have three entries")

    @property
    def warps_ignored(self) -> bool:
        return self.allowed_num_warps is None

    def supports(self, dtype) -> bool:
        """Whether a tensor of this torch dtype (or 'fp32'-style name) may reach a kernel on this chip."""
        key = dtype_key(dtype)
        return key in ALWAYS or key in self.dtypes

    def to_wire(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = sorted(value) if isinstance(value, frozenset) else value
        return out

    @classmethod
    def from_wire(cls, data: dict) -> ChipProfile:
        names = {f.name for f in fields(cls)}
        if set(data) != names:
            raise ValueError(f"profile fields differ: {sorted(set(data) ^ names)}")
        warps = data["allowed_num_warps"]
        return cls(
            name=str(data["name"]),
            warp_size=int(data["warp_size"]),
            allowed_num_warps=None if warps in (None, "ignored") else tuple(int(w) for w in warps),
            max_threads_per_program=int(data["max_threads_per_program"]),
            onchip_bytes=int(data["onchip_bytes"]),
            max_block_numel=int(data["max_block_numel"]),
            max_grid=tuple(int(g) for g in data["max_grid"]),
            compute_units=int(data["compute_units"]),
            dtypes=frozenset(str(d) for d in data["dtypes"]),
            max_index=int(data["max_index"]),
            dot_min=tuple(int(d) for d in data["dot_min"]),
            num_stages_max=int(data["num_stages_max"]),
        )


_ALL = frozenset(DTYPES)
_BIG_GRID = (2**31 - 1, 65535, 65535)

# Fictitious chips modelled on real families.
PUBLIC_PROFILES: dict[str, ChipProfile] = {
    p.name: p
    for p in (
        ChipProfile(
            name="gpgpu-32",
            warp_size=32,
            allowed_num_warps=(1, 2, 4, 8, 16, 32),
            max_threads_per_program=1024,
            onchip_bytes=64 * 1024,
            max_block_numel=16384,
            max_grid=_BIG_GRID,
            compute_units=108,
            dtypes=_ALL,
            max_index=2**31,
            dot_min=(16, 16, 16),
            num_stages_max=4,
        ),
        ChipProfile(
            name="gpgpu-64",
            warp_size=64,
            allowed_num_warps=(1, 2, 4, 8, 16),
            max_threads_per_program=1024,
            onchip_bytes=64 * 1024,
            max_block_numel=16384,
            max_grid=_BIG_GRID,
            compute_units=104,
            dtypes=frozenset(_ALL - {"fp64"}),
            max_index=2**31,
            dot_min=(16, 16, 16),
            num_stages_max=2,
        ),
        ChipProfile(
            name="mlu-like",
            warp_size=32,
            allowed_num_warps=(1, 4),
            max_threads_per_program=128,
            onchip_bytes=16 * 1024,
            max_block_numel=4096,
            max_grid=(65535, 65535, 65535),
            compute_units=48,
            dtypes=frozenset(_ALL - {"fp64"}),
            max_index=2**31,
            dot_min=(16, 16, 16),
            num_stages_max=1,
        ),
        ChipProfile(
            name="npu-like",
            warp_size=32,
            allowed_num_warps=None,
            max_threads_per_program=1024,
            onchip_bytes=4 * 1024,
            max_block_numel=256,
            max_grid=(65535, 65535, 65535),
            compute_units=40,
            dtypes=frozenset(_ALL - {"fp64"}),
            max_index=2**31,
            dot_min=(16, 16, 16),
            num_stages_max=2,
        ),
        ChipProfile(
            name="xpu-like",
            warp_size=64,
            allowed_num_warps=None,
            max_threads_per_program=1024,
            onchip_bytes=32 * 1024,
            max_block_numel=8192,
            max_grid=(65535, 65535, 65535),
            compute_units=12,
            dtypes=frozenset({"fp32", "fp16", "int32"}),
            max_index=2**20,
            dot_min=(32, 32, 32),
            num_stages_max=1,
        ),
    )
}

# family -> field -> (how, low, high): a hidden profile of the family draws each listed field as a power of two
# ("pow2") or an integer ("int") in [low, high] and keeps the public profile's other values. Published in the
# profile files and the task prompts; the values drawn for a run stay secret.
HIDDEN_RANGES: dict[str, dict[str, tuple[str, int, int]]] = {
    "gpgpu-32": {
        "onchip_bytes": ("pow2", 8 << 10, 64 << 10),
        "max_block_numel": ("pow2", 1024, 16384),
        "compute_units": ("int", 16, 132),
        "num_stages_max": ("int", 2, 4),
    },
    "gpgpu-64": {
        "onchip_bytes": ("pow2", 8 << 10, 64 << 10),
        "max_block_numel": ("pow2", 1024, 16384),
        "compute_units": ("int", 32, 120),
    },
    "mlu-like": {
        "onchip_bytes": ("pow2", 2 << 10, 16 << 10),
        "max_block_numel": ("pow2", 512, 4096),
        "compute_units": ("int", 8, 64),
    },
    "npu-like": {
        "onchip_bytes": ("pow2", 1 << 10, 4 << 10),
        "max_block_numel": ("pow2", 64, 256),
        "compute_units": ("int", 20, 40),
    },
    "xpu-like": {
        "onchip_bytes": ("pow2", 4 << 10, 32 << 10),
        "max_block_numel": ("pow2", 1024, 8192),
        "compute_units": ("int", 8, 12),
        "max_index": ("int", 1 << 16, 1 << 20),
    },
}
