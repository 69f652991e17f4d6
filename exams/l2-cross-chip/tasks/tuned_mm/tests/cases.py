"""Hidden tests for tuned_mm: mm_config(M, N, K, dtype, profile) judged as a config for the chip (the rules of
the prompt), a small-M and a large-M call compared as buckets, and mm(a, b, profile=...) run against a float64
reference with every launch compared with what mm_config returned for that shape. Public profiles and this run's
hidden ones (drawn within the task's published ranges, so that the dot_min tile always fits)."""

import torch
from gradelib.chips import chip_case, is_pow2, kib, label, launch_message, run_profiles
from gradelib.data_cases import Call, DataCase
from gradelib.messages import Message, msg
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


def parse(config, profile) -> tuple[tuple | None, Message | None]:
    """((BM, BN, BK, num_warps or None, num_stages), None) or (None, what is wrong with the dict's form)."""
    if type(config) is not dict:
        return None, msg("mm.not_dict", type=type(config).__name__)
    unknown = set(config) - {"META", "num_warps", "num_stages"}
    if unknown:
        return None, msg("mm.unexpected_keys", keys=str(sorted(unknown)))
    meta = config.get("META")
    if type(meta) is not dict or set(meta) != {"BLOCK_M", "BLOCK_N", "BLOCK_K"}:
        return None, msg("mm.meta_keys")
    values = [meta["BLOCK_M"], meta["BLOCK_N"], meta["BLOCK_K"], config.get("num_stages")]
    if any(type(v) is not int for v in values):
        return None, msg("mm.not_integers")
    warps = config.get("num_warps")
    if profile.warps_ignored:
        if warps is not None:
            return None, msg("mm.warps_ignored", warps=str(warps))
    elif type(warps) is not int:
        return None, msg("mm.warps_missing")
    return (*values[:3], warps, values[3]), None


def footprint(bm: int, bn: int, bk: int, elem: int, stages: int) -> int:
    return (bm * bk + bk * bn) * elem * stages + bm * bn * ACC_BYTES


def legality_problem(cfg: tuple, M: int, N: int, elem: int, profile) -> Message | None:
    """The first chip rule (or the wave rule) the config breaks for this shape."""
    bm, bn, bk, warps, stages = cfg
    for name, value, least in zip(("BLOCK_M", "BLOCK_N", "BLOCK_K"), (bm, bn, bk), profile.dot_min, strict=True):
        if not is_pow2(value):
            return msg("chip.not_pow2", name=name, value=value)
        if value < least:
            index = ("BLOCK_M", "BLOCK_N", "BLOCK_K").index(name)
            return msg("mm.dot_min", name=name, value=value, index=index, least=least)
    for dims, numel in (("BLOCK_M·BLOCK_K", bm * bk), ("BLOCK_K·BLOCK_N", bk * bn), ("BLOCK_M·BLOCK_N", bm * bn)):
        if numel > profile.max_block_numel:
            return msg("mm.tile_numel", dims=dims, numel=numel, max=profile.max_block_numel)
    if warps is not None:
        if warps not in profile.allowed_num_warps:
            return msg("chip.warps_not_allowed", warps=warps, allowed=str(list(profile.allowed_num_warps)))
        if warps * profile.warp_size > profile.max_threads_per_program:
            return msg("mm.threads", threads=warps * profile.warp_size, max=profile.max_threads_per_program)
    if not 1 <= stages <= profile.num_stages_max:
        return msg("mm.stages", stages=stages, max=profile.num_stages_max)
    used = footprint(bm, bn, bk, elem, stages)
    if used > profile.onchip_bytes:
        return msg(
            "mm.footprint",
            bm=bm,
            bn=bn,
            bk=bk,
            elem=elem,
            stages=stages,
            used=kib(used),
            onchip=kib(profile.onchip_bytes),
        )
    dm, dn, _ = profile.dot_min
    if cdiv(M, dm) * cdiv(N, dn) >= profile.compute_units:
        programs = cdiv(M, bm) * cdiv(N, bn)
        if programs < profile.compute_units:
            return msg("mm.wave", programs=programs, units=profile.compute_units, least=cdiv(M, dm) * cdiv(N, dn))
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


def config_problem(config, M: int, N: int, K: int, dtype: torch.dtype, profile) -> Message | None:
    """Everything the prompt checks on one returned config, as the first problem found, or None."""
    cfg, problem = parse(config, profile)
    if problem is None:
        problem = legality_problem(cfg, M, N, _elem(dtype), profile)
    if problem is None and M <= SMALL_M and cfg[0] != profile.dot_min[0]:
        problem = msg("mm.small_bucket", m=M, small=SMALL_M, least=profile.dot_min[0], got=cfg[0])
    if (
        problem is None
        and M >= LARGE_M
        and cfg[0] == profile.dot_min[0]
        and taller_tile_exists(M, N, _elem(dtype), profile)
    ):
        problem = msg("mm.large_bucket", m=M, large=LARGE_M, got=cfg[0])
    if problem is None:
        return None
    return msg("mm.config_problem", m=M, n=N, k=K, dtype=_short(dtype), chip=label(profile), problem=problem)


def config_judge(M, N, K, dtype, profile):
    def judge(values: list) -> tuple[bool, Message]:
        problem = config_problem(values[0], M, N, K, dtype, profile)
        return (False, problem) if problem else (True, msg("mm.config_ok", config=str(values[0])))

    return judge


def bucket_judge(small: int, large: int, N, K, dtype, profile):
    def judge(values: list) -> tuple[bool, Message]:
        problems = [config_problem(v, m, N, K, dtype, profile) for v, m in zip(values, (small, large), strict=True)]
        problems = [p for p in problems if p]
        if not problems:
            return True, msg("mm.buckets_ok", small=small, first=str(values[0]), large=large, second=str(values[1]))
        if values[0] == values[1]:
            return False, msg("mm.same_config", small=small, large=large, problem=problems[0])
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

    def judge(log: dict, config) -> Message | None:
        problem = config_problem(config, M, N, K, dtype, profile)
        if problem:
            return problem
        cfg, _ = parse(config, profile)
        for i, launch in enumerate(log.get("launches", []), start=1):
            problem = launch_mismatch(launch, cfg, M, N)
            if problem:
                return launch_message(i, launch, profile, problem)
        return None

    return judge


def launch_mismatch(launch: dict, cfg: tuple, M: int, N: int) -> Message | None:
    """How one launch differs from the config mm_config returned (blocks, options, program count), or None."""
    bm, bn, bk, warps, stages = cfg
    got = launch.get("constexprs", {})
    for name, value in {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}.items():
        if got.get(name) != value:
            return msg("mm.launch_block", name=name, got=str(got.get(name)), want=value)
    options = launch.get("options", {})
    if warps is not None and options.get("num_warps", 4) != warps:
        return msg("mm.launch_warps", got=str(options.get("num_warps", 4)), want=warps)
    if options.get("num_stages", 1) != stages:
        return msg("mm.launch_stages", got=str(options.get("num_stages", 1)), want=stages)
    grid = launch.get("grid") or [0, 0, 0]
    programs = grid[0] * grid[1] * grid[2]
    expected = cdiv(M, bm) * cdiv(N, bn)
    if programs != expected:
        return msg("mm.launch_programs", programs=programs, expected=expected)
    return None


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
