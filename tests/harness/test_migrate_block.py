"""What migrate_block builds on: a case whose entry returns a forward that the candidate process calls in the same
guarded call, returning an output and named taps; the tiny Llama block sent as its config and weights; the op list
the record is judged against, taken from what torch really runs; and the record rules, the taps' references and
the task's published ranges. The whole task's solution and starter are graded by the exam self-test, its wrong
solutions in tests/test_docker_wrong_solutions.py, both in containers."""

import importlib.util

import pytest
import torch
from chipprofile import PUBLIC_PROFILES
from gradelib.chips import hidden_profiles
from gradelib.guards import HOST_OPS
from gradelib.results import FAILED, PASSED, REJECTED
from tinyblock import TAPS, BlockConfig, TinyLlamaBlock
from torch.utils._python_dispatch import TorchDispatchMode

from .conftest import REPO

TASK = REPO / "exams" / "l2-cross-chip" / "tasks" / "migrate_block"

TOY_CASES = """
import torch
from chipprofile import PUBLIC_PROFILES
from tinyblock import BlockConfig, TinyLlamaBlock, weight_shapes

from gradelib.chips import tile_footprint
from gradelib.forward_cases import ForwardCase

KIND = "chip_profile"
ENTRY = "migrate_block"
CALL_SECONDS = 20


def judge(out, taps):
    want = (2 * X * WEIGHT).double()  # the kernel rounds as fp32 does
    if sorted(taps) != ["scaled"]:
        return False, f"taps {sorted(taps)}"
    ok = torch.equal(out.double(), want) and torch.equal(taps["scaled"].double(), want)
    return ok, "ok" if ok else "wrong values"


def cases(gen):
    global X, WEIGHT
    config = BlockConfig(d_model=8, n_heads=2, n_kv_heads=1, d_ff=12)
    weights = {n: torch.randn(s, generator=gen) for n, s in weight_shapes(config).items()}
    block = TinyLlamaBlock(config, weights)
    X = torch.randn(3, 8, generator=gen)
    WEIGHT = weights["input_layernorm.weight"]
    profile = PUBLIC_PROFILES["gpgpu-32"]
    return [ForwardCase("forward", (block,), (X,), judge, profile, {"profile": profile}, footprint=tile_footprint)]
"""

TOY_SOLUTION = """
import torch
import triton
import triton.language as tl


@triton.jit
def scale_kernel(x_ptr, w_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * n_cols + cols, mask=mask)
    w = tl.load(w_ptr + cols, mask=mask)
    tl.store(out_ptr + row * n_cols + cols, 2 * x * w, mask=mask)


def migrate_block(block, *, profile):
    weight = block.input_layernorm.weight

    def forward(x):
        out = torch.empty_like(x)
        scale_kernel[(x.shape[0],)](x, weight, out, x.shape[1], BLOCK=BLOCK_SIZE)
        RETURN

    RESULT
"""


@pytest.fixture
def toy_task(tmp_path):
    (tmp_path / "cases.py").write_text(TOY_CASES)
    return tmp_path


def _toy(returned="return out, {'scaled': out}", result="return forward", block="8") -> str:
    return TOY_SOLUTION.replace("RETURN", returned).replace("RESULT", result).replace("BLOCK_SIZE", block)


def test_the_forward_is_called_with_the_block_built_from_its_weights(grade_source, toy_task):
    result = grade_source(_toy(), tests_dir=toy_task)
    assert result.status == PASSED and result.score == 1.0, result


@pytest.mark.parametrize(
    ("returned", "result", "expected"),
    [
        ("return out", "return forward", "the forward returned Tensor, expected (output tensor, dict of tap tensors)"),
        ("return out, [out]", "return forward", "the forward returned tuple, expected (output tensor"),
        ("return out, {'scaled': 3}", "return forward", "tap scaled: returned int, expected a torch.Tensor"),
        ("return out, {'scaled': out}", "return 1", "raised TypeError: returned int, expected a callable forward"),
        ("return out, {}", "return forward", "taps []"),
    ],
)
def test_a_forward_that_returns_something_else_fails_with_a_message(grade_source, toy_task, returned, result, expected):
    graded = grade_source(_toy(returned, result), tests_dir=toy_task)
    assert graded.status == FAILED and expected in graded.tests[0].message, graded


def test_torch_math_inside_the_forward_is_rejected_naming_the_op(grade_source, toy_task):
    source = _toy(returned="return out, {'scaled': block.input_layernorm(x)}")
    result = grade_source(source, tests_dir=toy_task)
    assert result.status == REJECTED and result.score == 0.0, result
    assert "aten.rsqrt" in result.message and "aten.mean" in result.message, result.message


def test_writing_a_weight_is_rejected(grade_source, toy_task):
    source = _toy().replace("        out = torch.empty_like(x)\n", "        out = weight\n")
    source = source.replace("return out, {'scaled': out}", "return torch.empty_like(x), {'scaled': x}")
    result = grade_source(source, tests_dir=toy_task)
    assert result.status == REJECTED and "modified" in result.message, result


def test_every_launch_of_the_forward_is_checked_against_the_profile(grade_source, toy_task):
    result = grade_source(_toy(block="32768"), tests_dir=toy_task)
    assert result.status == FAILED, result
    assert "launch 1 (scale_kernel) on gpgpu-32: BLOCK=32768 > max_block_numel 16384" in result.tests[0].message


# ---- the task's own pieces ---------------------------------------------------------------------------------


def _cases():
    spec = importlib.util.spec_from_file_location("migrate_block_cases", TASK / "tests" / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Ops(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.seen: dict[str, set[str]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func).removeprefix("aten.")
        self.seen.setdefault(name.split(".")[0], set()).add(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
def test_the_published_ops_are_what_the_blocks_torch_forward_runs(dtype):
    cases = _cases()
    for config, seq in cases.BLOCKS:
        block = cases.make_block(config, dtype, torch.Generator().manual_seed(0))
        x = torch.randn(seq, config.d_model).to(dtype)
        with torch.no_grad(), _Ops() as ops:
            block(x)
        assert set(ops.seen) == set(cases.COMPUTE_OPS) | set(cases.HOST_OPS)
        host = {packet for packet, overloads in ops.seen.items() if overloads <= HOST_OPS}
        assert host == set(cases.HOST_OPS), "host ops are exactly those the run-time guard lets through"
    prompts = [(TASK / f"prompt.{lang}.md").read_text() for lang in ("en", "zh")]
    for op in (*cases.COMPUTE_OPS, *cases.HOST_OPS):
        assert all(f"`{op}`" in text for text in prompts), op


def test_the_record_rules():
    cases = _cases()
    left = [op for op in cases.HOST_OPS if op not in ("t", "view")]
    good = {"replaced": [*cases.COMPUTE_OPS, "t", "view"], "unused": {op: "a view on the host" for op in left}}
    assert cases.record_problem(good) is None
    bad = {
        "not a dict": [],
        "compute left out": {
            "replaced": [op for op in good["replaced"] if op != "silu"],
            "unused": {**good["unused"], "silu": "kept in torch"},
        },
        "missing": {**good, "replaced": good["replaced"][1:]},
        "unknown": {**good, "replaced": [*good["replaced"], "gelu"]},
        "both": {**good, "unused": {**good["unused"], "t": "a view on the host"}},
        "no reason": {**good, "unused": {**good["unused"], "ones": " "}},
        "aten prefix": {**good, "replaced": ["aten.mm", *good["replaced"][1:]]},
    }
    messages = {label: cases.record_problem(record) for label, record in bad.items()}
    assert all(messages.values()), messages
    assert "silu left out, but these ops compute" in messages["compute left out"].text
    assert f"{cases.COMPUTE_OPS[0]}: neither replaced nor left out" in messages["missing"].text
    assert "give a reason" in messages["no reason"].text


def test_each_tap_is_judged_against_its_own_operation_from_the_previous_taps():
    cases = _cases()
    config, seq = cases.BLOCKS[0]
    gen = torch.Generator().manual_seed(3)
    block = cases.make_block(config, torch.float32, gen)
    x = torch.randn(seq, config.d_model, generator=gen)
    with torch.no_grad():
        out, taps = cases.upcast(block)(x.double())
    taps = {name: t.float() for name, t in taps.items()}
    judge = cases.block_judge(block, x, seq)
    assert judge(out.float(), taps)[0], judge(out.float(), taps)
    # An error in q only: the attention reference is built from the candidate's q, so only q_rope is blamed.
    wrong_q = {**taps, "q_rope": taps["q_rope"] * 1.01}
    passed, message = judge(out.float(), wrong_q)
    assert not passed and message.text.startswith("tap q_rope:"), message
    no_k = {name: t for name, t in taps.items() if name != "k_rope"}
    assert "missing tap(s) k_rope" in judge(out.float(), no_k)[1].text
    shaped = {**taps, "k_rope": taps["q_rope"]}
    assert "tap k_rope has shape" in judge(out.float(), shaped)[1].text
    assert set(TAPS) == set(taps)


def test_the_block_follows_the_grouped_heads_and_rope_of_the_prompt():
    config = BlockConfig(d_model=8, n_heads=4, n_kv_heads=2, d_ff=12)
    assert config.head_dim == 2 and config.group_size == 2
    with pytest.raises(ValueError):
        BlockConfig(d_model=8, n_heads=3, n_kv_heads=1, d_ff=12)
    weights = {n: torch.ones(s) for n, s in _cases().weight_shapes(config).items()}
    with pytest.raises(ValueError):
        TinyLlamaBlock(config, {**weights, "mlp.up_proj.weight": torch.ones(3, 3)})


def test_the_hidden_ranges_hold_a_256_element_tile():
    """(The prompts' range tables are written from HIDDEN_RANGES and RANGES: tests/content/test_chip_profiles.py.)"""
    cases = _cases()
    for seed in range(10):
        for profile in [*PUBLIC_PROFILES.values(), *hidden_profiles(torch.Generator().manual_seed(seed), cases.RANGES)]:
            assert min(profile.max_block_numel, profile.onchip_bytes // (4 * 3)) >= 256, profile
