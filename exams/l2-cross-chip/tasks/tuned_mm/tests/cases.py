"""Hidden tests for tuned_mm: mm_config(M, N, K, dtype, profile) judged as a config for the chip (the rules of
the prompt), a small-M and a large-M call compared as buckets, and mm(a, b, profile=...) run against a float64
reference with every launch compared with what mm_config returned for that shape. Public profiles and this run's
hidden ones (drawn within the task's published ranges, so that the dot_min tile always fits)."""

import torch

from gradelib.chips import chip_case, is_pow2, kib, label, run_profiles
from gradelib.data_cases import Call, DataCase
from gradelib.triton_cases import randn

KIND = "chip_profile"
ENTRY = "mm"
FUNCTIONS = ("mm_config",)
CALL_SECONDS = 30

SMALL_M = 16  # M <= SMALL_M: BLOCK_M must be dot_min[0]
LARGE_M = 256  # M >= LARGE_M: BLOCK_M above dot_min[0] whenever a legal config has one
ACC_BYTES = 4

# The task's own hidden ranges (prompt): the other fields as for every L2 task.
RANGES = {
    "mlu-like": {"onchip_bytes": ("pow2", 4 << 10, 16 << 10)},
    "npu-like": {"onchip_bytes": ("pow2", 4 << 10, 8 << 10), "max_block_numel": ("pow2", 256, 1024)},
    "xpu-like": {"onchip_bytes": ("pow2", 16 << 10, 32 << 10)},
}

# mm_config shapes (M, N, K, dtype): no kernel runs, so they can be as large as real ones. The first rows bind
# the wave rule on most chips; every profile meets a rotating selection of them.
CONFIG_SHAPES = [
    (1, 4096, 4096, torch.float16),
    (8, 2048, 1024, torch.float32),
    (16, 11008, 4096, torch.float16),
    (256, 256, 256, torch.float32),
    (64, 1024, 512, torch.float16),
    (200, 600, 333, torch.float32),
    (4096, 4096, 4096, torch.float16),
    (1000, 64, 2000, torch.float32),
    (512, 8192, 128, torch.float32),
    (2048, 512, 1024, torch.float16),
]
PER_PROFILE_CONFIGS = 4
# (small M, large M, N, K, dtype) for the bucket pair
BUCKET_PAIRS = [(1, 4096, 4096, 4096, torch.float16), (16, 1024, 1024, 1024, torch.float32)]
# mm runs (M, K, N, dtype, layout of a, layout of b); every tensor below 2^16 elements (the smallest max_index)
RUNS = [
    (1, 300, 200, torch.float32, "contiguous", "contiguous"),
    (16, 129, 70, torch.float16, "contiguous", "transposed"),
    (100, 96, 130, torch.float32, "contiguous", "transposed"),
    (200, 160, 190, torch.float16, "contiguous", "contiguous"),
    (130, 257, 60, torch.float32, "sliced", "contiguous"),
    (64, 64, 64, torch.float16, "transposed", "sliced"),
    (7, 1000, 33, torch.float32, "contiguous", "contiguous"),
]
PER_PROFILE_RUNS = 2


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _short(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _elem(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


# ---- the rules of the prompt -------------------------------------------------------------------------------


def parse(config, profile) -> tuple[tuple | None, str | None]:
    """((BM, BN, BK, num_warps or None, num_stages), None) or (None, what is wrong with the dict's form)."""
    if type(config) is not dict:
        return None, f"returned {type(config).__name__}, expected a dict like tune_configs.yaml's entries"
    unknown = set(config) - {"META", "num_warps", "num_stages"}
    if unknown:
        return None, f"unexpected keys {sorted(unknown)} (allowed: META, num_warps, num_stages)"
    meta = config.get("META")
    if type(meta) is not dict or set(meta) != {"BLOCK_M", "BLOCK_N", "BLOCK_K"}:
        return None, "META must hold exactly BLOCK_M, BLOCK_N and BLOCK_K"
    values = [meta["BLOCK_M"], meta["BLOCK_N"], meta["BLOCK_K"], config.get("num_stages")]
    if any(type(v) is not int for v in values):
        return None, "BLOCK_M, BLOCK_N, BLOCK_K and num_stages must be integers"
    warps = config.get("num_warps")
    if profile.warps_ignored:
        if warps is not None:
            return None, f"num_warps={warps}, but this chip ignores num_warps (leave it out)"
    elif type(warps) is not int:
        return None, "num_warps is missing (this chip uses it)"
    return (*values[:3], warps, values[3]), None


def footprint(bm: int, bn: int, bk: int, elem: int, stages: int) -> int:
    return (bm * bk + bk * bn) * elem * stages + bm * bn * ACC_BYTES


def legality_problem(cfg: tuple, M: int, N: int, elem: int, profile) -> str | None:
    """The first chip rule (or the wave rule) the config breaks for this shape."""
    bm, bn, bk, warps, stages = cfg
    for name, value, least in zip(("BLOCK_M", "BLOCK_N", "BLOCK_K"), (bm, bn, bk), profile.dot_min, strict=True):
        if not is_pow2(value):
            return f"{name}={value} is not a power of two"
        if value < least:
            index = ("BLOCK_M", "BLOCK_N", "BLOCK_K").index(name)
            return f"{name}={value} < dot_min[{index}] = {least} (the smallest tile tl.dot accepts)"
    for dims, numel in (("BLOCK_M·BLOCK_K", bm * bk), ("BLOCK_K·BLOCK_N", bk * bn), ("BLOCK_M·BLOCK_N", bm * bn)):
        if numel > profile.max_block_numel:
            return f"tile {dims} = {numel} elements > max_block_numel {profile.max_block_numel}"
    if warps is not None:
        if warps not in profile.allowed_num_warps:
            return f"num_warps={warps} is not one of the allowed {list(profile.allowed_num_warps)}"
        if warps * profile.warp_size > profile.max_threads_per_program:
            return (
                f"num_warps·warp_size = {warps * profile.warp_size} > max_threads_per_program "
                f"{profile.max_threads_per_program}"
            )
    if not 1 <= stages <= profile.num_stages_max:
        return f"num_stages={stages} is outside 1..num_stages_max {profile.num_stages_max}"
    used = footprint(bm, bn, bk, elem, stages)
    if used > profile.onchip_bytes:
        return (
            f"footprint (BM·BK + BK·BN)·elem·stages + BM·BN·4 = ({bm}·{bk} + {bk}·{bn})·{elem}·{stages} + "
            f"{bm}·{bn}·4 = {kib(used)} > on-chip {kib(profile.onchip_bytes)}"
        )
    dm, dn, _ = profile.dot_min
    if cdiv(M, dm) * cdiv(N, dn) >= profile.compute_units:
        programs = cdiv(M, bm) * cdiv(N, bn)
        if programs < profile.compute_units:
            return (
                f"wave rule: cdiv(M, BLOCK_M)·cdiv(N, BLOCK_N) = {programs} programs < compute_units "
                f"{profile.compute_units}, though dot_min tiles would give {cdiv(M, dm) * cdiv(N, dn)}"
            )
    return None


def taller_tile_exists(M: int, N: int, elem: int, profile) -> bool:
    """Whether some config legal for this shape has BLOCK_M above dot_min[0] (footprint and tiles only grow with
    BLOCK_K and stages, so the smallest of those decide)."""
    dm, dn, dk = profile.dot_min
    warps = None if profile.warps_ignored else min(profile.allowed_num_warps)
    bm = 2 * dm
    while bm <= profile.max_block_numel:
        bn = dn
        while bm * bn <= profile.max_block_numel:
            if legality_problem((bm, bn, dk, warps, 1), M, N, elem, profile) is None:
                return True
            bn *= 2
        bm *= 2
    return False


def config_problem(config, M: int, N: int, K: int, dtype: torch.dtype, profile) -> str | None:
    """Everything the prompt checks on one returned config, as the first problem found, or None."""
    cfg, problem = parse(config, profile)
    if problem is None:
        problem = legality_problem(cfg, M, N, _elem(dtype), profile)
    if problem is None and M <= SMALL_M and cfg[0] != profile.dot_min[0]:
        problem = f"small-M bucket: M={M} <= {SMALL_M} needs BLOCK_M = dot_min[0] = {profile.dot_min[0]}, got {cfg[0]}"
    if (
        problem is None
        and M >= LARGE_M
        and cfg[0] == profile.dot_min[0]
        and taller_tile_exists(M, N, _elem(dtype), profile)
    ):
        problem = (
            f"large-M bucket: M={M} >= {LARGE_M} keeps BLOCK_M = dot_min[0] = {cfg[0]}, though a legal config with a "
            "taller tile exists"
        )
    if problem is None:
        return None
    return f"mm_config(M={M}, N={N}, K={K}, {_short(dtype)}) on {label(profile)}: {problem}"


def config_judge(M, N, K, dtype, profile):
    def judge(values: list) -> tuple[bool, str]:
        problem = config_problem(values[0], M, N, K, dtype, profile)
        return (False, problem) if problem else (True, f"ok: {values[0]}")

    return judge


def bucket_judge(small: int, large: int, N, K, dtype, profile):
    def judge(values: list) -> tuple[bool, str]:
        problems = [config_problem(v, m, N, K, dtype, profile) for v, m in zip(values, (small, large), strict=True)]
        problems = [p for p in problems if p]
        if not problems:
            return True, f"ok: M={small} -> {values[0]}, M={large} -> {values[1]}"
        if values[0] == values[1]:
            return False, f"the same config for M={small} and M={large} (keep a small-M bucket): {problems[0]}"
        return False, problems[0]

    return judge


# ---- mm runs -----------------------------------------------------------------------------------------------


def mm_footprint(launch: dict) -> int:
    c = launch.get("constexprs", {})
    widths = [{"float32": 4, "float16": 2}.get(t["dtype"], 0) for t in launch.get("tensors", {}).values()]
    stages = launch.get("options", {}).get("num_stages", 1)
    return footprint(c.get("BLOCK_M", 1), c.get("BLOCK_N", 1), c.get("BLOCK_K", 1), max(widths, default=4), stages)


def mm_tiles(launch: dict) -> dict[str, int]:
    c = launch.get("constexprs", {})
    bm, bn, bk = (c.get(k, 1) for k in ("BLOCK_M", "BLOCK_N", "BLOCK_K"))
    return {"BLOCK_M·BLOCK_K": bm * bk, "BLOCK_K·BLOCK_N": bk * bn, "BLOCK_M·BLOCK_N": bm * bn}


def launches_judge(M: int, N: int, K: int, dtype: torch.dtype, profile):
    """Every launch carries the config mm_config returned for (M, N, K, dtype), over cdiv(M,BM)·cdiv(N,BN)
    programs."""

    def judge(log: dict, config) -> str | None:
        problem = config_problem(config, M, N, K, dtype, profile)
        if problem:
            return problem
        cfg, _ = parse(config, profile)
        bm, bn, bk, warps, stages = cfg
        want = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}
        for i, launch in enumerate(log.get("launches", []), start=1):
            where = f"launch {i} ({launch.get('kernel', '?')}) on {label(profile)}"
            got = launch.get("constexprs", {})
            for name, value in want.items():
                if got.get(name) != value:
                    return f"{where}: {name}={got.get(name)}, but mm_config returned {name}={value} for this shape"
            options = launch.get("options", {})
            if warps is not None and options.get("num_warps", 4) != warps:
                return f"{where}: num_warps={options.get('num_warps', 4)}, but mm_config returned num_warps={warps}"
            if options.get("num_stages", 1) != stages:
                return f"{where}: num_stages={options.get('num_stages', 1)}, but mm_config returned num_stages={stages}"
            grid = launch.get("grid") or [0, 0, 0]
            programs = grid[0] * grid[1] * grid[2]
            expected = cdiv(M, bm) * cdiv(N, bn)
            if programs != expected:
                return f"{where}: {programs} programs, expected cdiv(M, BLOCK_M)·cdiv(N, BLOCK_N) = {expected}"
        return None

    return judge


def reference(a, b):
    return a @ b


def magnitude(a, b):
    """sum_k |a_ik| * |b_kj|: what the fp32 error bound of each output element scales with."""
    return a.abs() @ b.abs()


def run_case(M, K, N, dtype, layout_a, layout_b, profile, gen):
    a = randn((M, K), dtype, gen, layout=layout_a)
    b = randn((K, N), dtype, gen, layout=layout_b)
    layout = "" if a.is_contiguous() and b.is_contiguous() else ", non-contiguous"
    return chip_case(
        f"mm {'fp16' if dtype == torch.float16 else 'fp32'} ({M}, {K}) @ ({K}, {N}){layout}",
        reference,
        (a, b),
        profile,
        reduce_dim=K,
        magnitude=magnitude,
        footprint=mm_footprint,
        tiles=mm_tiles,
        companion=Call("mm_config", (M, N, K, dtype), {"profile": profile}),
        judge_launches=launches_judge(M, N, K, dtype, profile),
    )


def cases(gen: torch.Generator):
    out = []
    for i, profile in enumerate(run_profiles(gen, RANGES)):
        for j in range(PER_PROFILE_CONFIGS):
            M, N, K, dtype = CONFIG_SHAPES[(i * PER_PROFILE_CONFIGS + j) % len(CONFIG_SHAPES)]
            call = Call("mm_config", (M, N, K, dtype), {"profile": profile})
            out.append(
                DataCase(
                    f"{label(profile)}: {call.describe()}", (call,), config_judge(M, N, K, dtype, profile), profile
                )
            )
        small, large, N, K, dtype = BUCKET_PAIRS[i % len(BUCKET_PAIRS)]
        calls = tuple(Call("mm_config", (m, N, K, dtype), {"profile": profile}) for m in (small, large))
        name = f"{label(profile)}: buckets M={small} and M={large} (N={N}, K={K}, {_short(dtype)})"
        out.append(DataCase(name, calls, bucket_judge(small, large, N, K, dtype, profile), profile))
        for j in range(PER_PROFILE_RUNS):
            M, K, N, dtype, layout_a, layout_b = RUNS[(i * PER_PROFILE_RUNS + j) % len(RUNS)]
            out.append(run_case(M, K, N, dtype, layout_a, layout_b, profile, gen))
    return out
