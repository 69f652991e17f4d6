"""What a chip_profile task's hidden tests/cases.py builds on (checker side): the public and hidden chip
profiles, the check of every recorded launch against the profile of its call, and the case model.

Hidden profiles are drawn from the run's secret seed within the published ranges (`chipprofile.HIDDEN_RANGES`,
next to the public profiles), one per family, with meaningless names: code that branches on a public profile's name
instead of its capabilities meets chips it has never seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from chipprofile import HIDDEN_RANGES, PUBLIC_PROFILES, ChipProfile, dtype_key

from .data_cases import Call
from .messages import Message, msg
from .triton_cases import Case, compare

DEFAULT_NUM_WARPS = 4  # what Triton uses when a launch does not pass num_warps
DEFAULT_NUM_STAGES = 1  # how a launch without num_stages is counted in footprints and limits


def _draw(gen: torch.Generator, how: str, low: int, high: int) -> int:
    if how == "pow2":
        lo, hi = low.bit_length() - 1, high.bit_length() - 1
        return 1 << int(torch.randint(lo, hi + 1, (1,), generator=gen))
    return int(torch.randint(low, high + 1, (1,), generator=gen))


# Hidden profile name -> its family, for test names (which show the family, never the hidden values).
_HIDDEN_FAMILY: dict[str, str] = {}


def hidden_profiles(gen: torch.Generator, ranges_by_family: dict | None = None) -> list[ChipProfile]:
    """One hidden profile per family, drawn within HIDDEN_RANGES (or a task's own published ranges, given as
    family -> the fields it draws differently), named by a random label."""
    out = []
    for family, defaults in HIDDEN_RANGES.items():
        ranges = {**defaults, **(ranges_by_family or {}).get(family, {})}
        values = {name: _draw(gen, *spec) for name, spec in ranges.items()}
        name = f"chip-{int(torch.randint(0, 1 << 24, (1,), generator=gen)):06x}"
        _HIDDEN_FAMILY[name] = family
        out.append(replace(PUBLIC_PROFILES[family], name=name, **values))
    return out


def run_profiles(gen: torch.Generator, ranges_by_family: dict | None = None) -> list[ChipProfile]:
    """The public profiles, then this run's hidden ones."""
    return [*PUBLIC_PROFILES.values(), *hidden_profiles(gen, ranges_by_family)]


def without(profile: ChipProfile, *dtypes: str) -> ChipProfile:
    """The same chip without some dtypes (a part of its family that lacks them)."""
    lacking = [d for d in dtypes if d in profile.dtypes]
    if not lacking:
        return profile
    note = " ".join(f"no-{d}" for d in lacking)
    return replace(profile, name=f"{profile.name} {note}", dtypes=profile.dtypes - set(lacking))


def label(profile: ChipProfile) -> str:
    """'mlu-like', 'hidden npu-like', 'hidden gpgpu-32 no-bf16': the family and variant, never hidden values."""
    base, _, variant = profile.name.partition(" ")
    text = base if base in PUBLIC_PROFILES else f"hidden {_HIDDEN_FAMILY.get(base, 'chip')}"
    return f"{text} {variant}".strip()


# ---- the launch check --------------------------------------------------------------------------------------


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n % 1024 else f"{n // 1024} KiB"


def is_pow2(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0 and n & (n - 1) == 0


def block_constexprs(launch: dict) -> dict[str, int]:
    return {k: v for k, v in launch.get("constexprs", {}).items() if k.upper().startswith("BLOCK")}


_FLOAT_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}


def tile_footprint(launch: dict, elem: int | None = None) -> int:
    """The tasks' published formula: BLOCK* product * elem * (2 + num_stages), where elem is given or is the
    element size of the widest floating-point tensor argument (4 when there is none)."""
    blocks = 1
    for value in block_constexprs(launch).values():
        blocks *= value
    if elem is None:
        widths = [_FLOAT_BYTES.get(t["dtype"], 0) for t in launch.get("tensors", {}).values()]
        elem = max(widths, default=0) or 4
    return blocks * elem * (2 + launch.get("options", {}).get("num_stages", DEFAULT_NUM_STAGES))


def block_product(launch: dict) -> dict[str, int]:
    """The default tile rule: the product of all BLOCK* constexprs is one tile, named by its factors."""
    blocks = block_constexprs(launch)
    product = 1
    for value in blocks.values():
        product *= value
    return {"·".join(blocks): product}


def check_launch(
    launch: dict,
    profile: ChipProfile,
    footprint: Callable[[dict], int] | None,
    tiles: Callable[[dict], dict[str, int]] | None = None,
) -> Message | None:
    """The first limit of `profile` this launch breaks, as a message, or None. `tiles` names the tiles whose
    element counts max_block_numel limits (default: the product of every BLOCK* constexpr)."""
    return (
        _options_problem(launch.get("options", {}), profile)
        or _block_problem(launch, profile, footprint, tiles)
        or _grid_problem(launch.get("grid"), profile)
        or _tensor_problem(launch.get("tensors", {}), profile)
    )


def _options_problem(options: dict, profile: ChipProfile) -> Message | None:
    if profile.warps_ignored:
        if "num_warps" in options:
            return msg("chip.warps_ignored", warps=options["num_warps"])
    else:
        warps = options.get("num_warps", DEFAULT_NUM_WARPS)
        if warps not in profile.allowed_num_warps:
            code = "chip.warps_not_allowed" if "num_warps" in options else "chip.default_warps_not_allowed"
            return msg(code, warps=warps, allowed=str(list(profile.allowed_num_warps)))
        if warps * profile.warp_size > profile.max_threads_per_program:
            return msg(
                "chip.threads",
                warps=warps,
                warp_size=profile.warp_size,
                threads=warps * profile.warp_size,
                max=profile.max_threads_per_program,
            )
    stages = options.get("num_stages", DEFAULT_NUM_STAGES)
    if stages > profile.num_stages_max:
        return msg("chip.stages", stages=stages, max=profile.num_stages_max)
    return None


def _block_problem(launch: dict, profile: ChipProfile, footprint, tiles) -> Message | None:
    for name, value in block_constexprs(launch).items():
        if not is_pow2(value):
            return msg("chip.not_pow2", name=name, value=value)
        if value > profile.max_block_numel:
            return msg("chip.block_over", name=name, value=value, max=profile.max_block_numel)
    for dims, numel in (tiles or block_product)(launch).items():
        if numel > profile.max_block_numel:
            return msg("chip.tile_numel", dims=dims, numel=numel, max=profile.max_block_numel)
    if footprint is not None:
        used = int(footprint(launch))
        if used > profile.onchip_bytes:
            return msg("chip.onchip", used=kib(used), onchip=kib(profile.onchip_bytes))
    return None


def _grid_problem(grid, profile: ChipProfile) -> Message | None:
    if grid is None:
        return msg("chip.no_grid")
    for axis, (n, cap) in enumerate(zip(grid, profile.max_grid, strict=True)):
        if n > cap:
            return msg("chip.grid", axis=axis, n=n, cap=cap)
    return None


def _tensor_problem(tensors: dict, profile: ChipProfile) -> Message | None:
    for name, t in tensors.items():
        if not profile.supports(t["dtype"]):
            return msg("chip.dtype", name=name, dtype=dtype_key(t["dtype"]))
    if "int64" not in profile.dtypes:
        for name, t in tensors.items():
            if t["span"] >= profile.max_index:
                return msg("chip.index_span", name=name, span=t["span"], max=profile.max_index)
    return None


def check_log(log: dict | None, profile: ChipProfile, footprint, tiles=None) -> Message | None:
    """The first violating launch of one call, named by its number and kernel."""
    if not log:
        return None
    if log.get("dropped"):
        return msg("chip.too_many_launches", count=len(log.get("launches", [])))
    for i, launch in enumerate(log.get("launches", []), start=1):
        problem = check_launch(launch, profile, footprint, tiles)
        if problem:
            return launch_message(i, launch, profile, problem)
    return None


def launch_message(index: int, launch: dict, profile: ChipProfile, problem: Message) -> Message:
    """'launch 2 (kernel) on mlu-like: <problem>'."""
    return msg("chip.launch", index=index, kernel=str(launch.get("kernel", "?")), chip=label(profile), problem=problem)


# ---- cases -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChipCase(Case):
    """A triton_op Case plus the profile it runs on, the task's footprint formula (and tile rule, see
    check_launch), an optional own verdict on the output (`judge(out, case) -> (passed, message)`), an optional
    expected exception type name, and an optional companion call made just before it whose returned value
    `judge_launches(launch_log, value) -> problem | None` compares the launches with."""

    profile: ChipProfile | None = None
    footprint: Callable[[dict], int] | None = field(default=None, compare=False, repr=False)
    judge: Callable | None = field(default=None, compare=False, repr=False)
    expect_error: str | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    tiles: Callable[[dict], dict[str, int]] | None = field(default=None, compare=False, repr=False)
    companion: Call | None = None
    judge_launches: Callable[[dict, object], Message | None] | None = field(default=None, compare=False, repr=False)


def chip_case(
    name: str,
    reference,
    args: tuple,
    profile: ChipProfile,
    *,
    kwargs: dict | None = None,
    reduce_dim: int = 1,
    out_dtype: torch.dtype | None = None,
    footprint=None,
    judge=None,
    expected: torch.Tensor | None = None,
    expect_error: str | None = None,
    extra: dict | None = None,
    magnitude: Callable | None = None,
    tiles=None,
    companion: Call | None = None,
    judge_launches=None,
) -> ChipCase:
    """A case whose expected value is `reference` on float64 copies of the tensor arguments (without the
    profile), called as entry(*args, **kwargs, profile=profile). `magnitude` as in triton_cases.make_case (the
    fp32 error bound of a dot product)."""
    kwargs = dict(kwargs or {})
    upcast = tuple(a.double() if isinstance(a, torch.Tensor) else a for a in args)
    if expected is None and expect_error is None:
        expected = reference(*upcast, **kwargs).double()
    if expected is None:
        expected = torch.empty(0, dtype=torch.float64)
    dtype = out_dtype or next(a.dtype for a in args if isinstance(a, torch.Tensor))
    return ChipCase(
        name=f"{label(profile)}: {name}",
        args=args,
        kwargs={**kwargs, "profile": profile},
        expected=expected,
        dtype=dtype,
        reduce_dim=reduce_dim,
        require_launch=expect_error is None and expected.numel() > 0,
        reference=None,
        profile=profile,
        footprint=footprint,
        judge=judge,
        expect_error=expect_error,
        extra=dict(extra or {}),
        magnitude=None if magnitude is None else magnitude(*upcast, **kwargs).double(),
        tiles=tiles,
        companion=companion,
        judge_launches=judge_launches,
    )


def judge_output(out: torch.Tensor, case: ChipCase) -> tuple[bool, Message]:
    if case.expect_error:
        return False, msg("chip.expected_raise", error=case.expect_error)
    if case.judge is not None:
        return case.judge(out, case)
    return compare(out, case)


def _short(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def exact_judge(out: torch.Tensor, case: ChipCase) -> tuple[bool, Message]:
    """A copy of input elements (a gather): dtype, shape and every value exactly as expected."""
    if out.dtype != case.dtype:
        return False, msg("chip.wrong_dtype", got=_short(out.dtype), expected=_short(case.dtype))
    if tuple(out.shape) != tuple(case.expected.shape):
        return False, msg("test.wrong_shape", got=str(tuple(out.shape)), expected=str(tuple(case.expected.shape)))
    wrong = out.double() != case.expected
    if bool(wrong.any()):
        first = tuple(int(i) for i in torch.nonzero(wrong)[0])
        return False, msg(
            "chip.exact_mismatch",
            count=int(wrong.sum()),
            total=out.numel(),
            index=str(first),
            got=f"{float(out.double()[first]):.6g}",
            expected=f"{float(case.expected[first]):.6g}",
        )
    return True, msg("chip.ok_exact")


# ---- bf16 stored as int16 bits -----------------------------------------------------------------------------


def bf16_judge(min_exact: float = 0.99):
    """Output int16 bits of bf16 values: within bf16 tolerance of the float64 reference and bit-identical to
    torch's fp32 -> bf16 rounding (case.extra['rounded']) on at least `min_exact` of the elements."""

    def judge(out: torch.Tensor, case: ChipCase) -> tuple[bool, Message]:
        if out.dtype != torch.int16:
            return False, msg("chip.bf16_dtype", got=_short(out.dtype))
        as_bf16 = replace(case, dtype=torch.bfloat16)
        values = out.contiguous().view(torch.bfloat16)
        ok, message = compare(values, as_bf16)
        if not ok:
            return False, message
        if out.numel() == 0:
            return True, message
        exact = float((out.reshape(-1) == case.extra["rounded"].reshape(-1)).double().mean())
        if exact < min_exact:
            return False, msg("chip.bf16_rounding", exact=f"{exact:.1%}", required=f"{min_exact:.0%}")
        return True, msg("grade.joined", first=message, second=msg("chip.bit_exact", share=f"{exact:.1%}"))

    return judge
