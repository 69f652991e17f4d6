"""Tasks with a second function (chip_profile `FUNCTIONS`): the checker calls a config function by name, receives
only plain data, judges it alone or compares the launches of the entry with it; a submission without the function
is rejected. Also the pieces tuned_mm builds on: the per-task tile rule, the task's own hidden ranges (published in
its prompt) and the plain-data copy made in the candidate process."""

import importlib.util
import textwrap

import pytest
import torch
from chipprofile import PUBLIC_PROFILES
from gradelib.chips import check_launch, hidden_profiles
from gradelib.results import FAILED, PASSED, REJECTED
from gradelib.runner import plain_data

from .conftest import REPO

TUNED_MM = REPO / "exams" / "l2-cross-chip" / "tasks" / "tuned_mm"

TOY_CASES = """
import torch
from chipprofile import PUBLIC_PROFILES
from gradelib.chips import chip_case
from gradelib.data_cases import Call, DataCase

KIND = "chip_profile"
ENTRY = "double"
FUNCTIONS = ("double_config",)
CALL_SECONDS = 20


def judge(values):
    return values[0] == {"BLOCK": 128, "dtype": "float32"}, f"got {values[0]}"


def launches(log, config):
    got = [launch["constexprs"].get("BLOCK") for launch in log["launches"]]
    return None if got == [config["BLOCK"]] else f"launched BLOCK {got}, but the config says {config['BLOCK']}"


def cases(gen):
    profile = PUBLIC_PROFILES["gpgpu-32"]
    x = torch.randn(300, generator=gen)
    call = Call("double_config", (300, torch.float32), {"profile": profile})
    return [
        DataCase("config", (call,), judge, profile),
        chip_case("run", lambda t: 2 * t, (x,), profile, companion=call, judge_launches=launches),
    ]
"""

TOY_SOLUTION = """
import torch
import triton
import triton.language as tl


@triton.jit
def double_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, 2 * tl.load(x_ptr + offs, mask=mask), mask=mask)


def double_config(n, dtype, profile):
    return {"BLOCK": 128, "dtype": str(dtype).split(".")[1]}


def double(x, *, profile):
    out = torch.empty_like(x)
    block = double_config(x.numel(), x.dtype, profile)["BLOCK"]
    double_kernel[(triton.cdiv(x.numel(), block),)](x, out, x.numel(), BLOCK=LAUNCHED)
    return out
"""


@pytest.fixture
def toy_task(tmp_path):
    (tmp_path / "cases.py").write_text(TOY_CASES)
    return tmp_path


def _solution(launched: str = "block", config: str | None = None) -> str:
    source = textwrap.dedent(TOY_SOLUTION).replace("LAUNCHED", launched)
    if config is not None:
        source = source.replace('    return {"BLOCK": 128, "dtype": str(dtype).split(".")[1]}', config)
    return source


def test_the_config_function_is_called_by_name_and_judged_on_its_data(grade_source, toy_task):
    result = grade_source(_solution(), tests_dir=toy_task)
    assert result.status == PASSED and result.score == 1.0, result
    assert "{'BLOCK': 128, 'dtype': 'float32'}" in result.tests[0].message, "a torch dtype arrives as a dtype"


def test_launches_are_compared_with_what_the_config_function_returned(grade_source, toy_task):
    result = grade_source(_solution(launched="64"), tests_dir=toy_task)
    assert result.status == FAILED and [t.passed for t in result.tests] == [True, False], result
    assert "launched BLOCK [64], but the config says 128" in result.tests[1].message


def test_a_config_function_that_returns_no_plain_data_fails_its_cases(grade_source, toy_task):
    result = grade_source(_solution(config="    return {'BLOCK': torch.empty(1)}"), tests_dir=toy_task)
    assert result.status == FAILED and not any(t.passed for t in result.tests), result
    expected = "double_config(300, float32): returned a value that is not plain data"
    assert all(expected in t.message for t in result.tests)


def test_a_config_function_that_raises_fails_its_cases(grade_source, toy_task):
    result = grade_source(_solution(config="    raise ValueError('no config')"), tests_dir=toy_task)
    assert result.status == FAILED and not any(t.passed for t in result.tests), result
    assert "double_config(300, float32) raised ValueError: no config" in result.tests[0].message


def test_a_submission_without_the_second_function_is_rejected(grade_source, toy_task):
    source = _solution().replace("double_config(", "other_config(")
    result = grade_source(source, tests_dir=toy_task)
    assert result.status == REJECTED and "no top-level function named 'double_config'" in result.message, result


def test_plain_data_copies_only_exact_builtin_types():
    config = {"META": {"BLOCK_M": 16}, "w": (4, None, 1.5, True)}
    assert plain_data(config) == {"META": {"BLOCK_M": 16}, "w": [4, None, 1.5, True]}

    class Sneaky(int):
        pass

    for bad in ({"x": torch.ones(1)}, {1: 2}, Sneaky(3), {"x": "y" * 5000}, [[[[[[[[[[1]]]]]]]]]]):
        with pytest.raises((TypeError, ValueError)):
            plain_data(bad)


def test_a_task_can_limit_each_tile_instead_of_the_product_of_all_blocks():
    launch = {
        "kernel": "mm_kernel",
        "grid": [4, 1, 1],
        "constexprs": {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16},
        "options": {},
        "tensors": {},
    }
    npu = PUBLIC_PROFILES["npu-like"]
    default = check_launch(launch, npu, None)
    assert "block BLOCK_M·BLOCK_N·BLOCK_K = 4096 elements > max_block_numel 256" in default.text

    def tiles(entry):
        c = entry["constexprs"]
        return {"BLOCK_M·BLOCK_N": c["BLOCK_M"] * c["BLOCK_N"], "BLOCK_M·BLOCK_K": c["BLOCK_M"] * c["BLOCK_K"]}

    assert check_launch(launch, npu, None, tiles) is None
    wide = {**launch, "constexprs": {"BLOCK_M": 16, "BLOCK_N": 32, "BLOCK_K": 16}}
    assert "block BLOCK_M·BLOCK_N = 512 elements > max_block_numel 256" in check_launch(wide, npu, None, tiles).text


def _tuned_mm_cases():
    spec = importlib.util.spec_from_file_location("tuned_mm_cases", TUNED_MM / "tests" / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tuned_mm_draws_always_hold_the_dot_minimum_tile():
    """(The prompts' range tables are written from HIDDEN_RANGES and RANGES: tests/content/test_chip_profiles.py.)"""
    cases = _tuned_mm_cases()
    for seed in range(10):
        for profile in [*PUBLIC_PROFILES.values(), *hidden_profiles(torch.Generator().manual_seed(seed), cases.RANGES)]:
            dm, dn, dk = profile.dot_min
            assert max(dm * dk, dk * dn, dm * dn) <= profile.max_block_numel, profile
            assert cases.footprint(dm, dn, dk, 4, 1) <= profile.onchip_bytes, profile
