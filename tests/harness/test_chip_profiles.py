"""The chip profiles of the L2 exam: hidden profiles stay within the published ranges and carry no public name;
the launch check names the launch and the limit for each rule it enforces. (The public profile files and the
lesson's and prompts' tables are written from chipprofile and checked by the content validator:
tests/content/test_chip_profiles.py.)"""

import importlib.util
import re

import pytest
import torch
from chipprofile import PUBLIC_PROFILES, ChipProfile
from gradelib.chips import HIDDEN_RANGES, check_launch, check_log, hidden_profiles, label, tile_footprint, without

from certplatform.content.chip_tables import task_ranges

from .conftest import REPO

L2_TASKS = sorted((REPO / "exams" / "l2-cross-chip" / "tasks").iterdir())


def test_hidden_profiles_stay_in_their_ranges_and_vary_with_the_seed():
    seen = set()
    for seed in range(20):
        drawn = hidden_profiles(torch.Generator().manual_seed(seed))
        assert len(drawn) == len(HIDDEN_RANGES)
        for family, profile in zip(HIDDEN_RANGES, drawn, strict=True):
            assert profile.name not in PUBLIC_PROFILES and re.fullmatch(r"chip-[0-9a-f]{6}", profile.name)
            assert label(profile) == f"hidden {family}"
            public = PUBLIC_PROFILES[family]
            for field, (how, lo, hi) in HIDDEN_RANGES[family].items():
                value = getattr(profile, field)
                assert lo <= value <= hi, (family, field, value)
                if how == "pow2":
                    assert value & (value - 1) == 0
            unchanged = set(public.to_wire()) - set(HIDDEN_RANGES[family]) - {"name"}
            assert all(getattr(profile, f) == getattr(public, f) for f in unchanged)
            seen.add((family, profile.onchip_bytes, profile.compute_units))
    assert len(seen) > 2 * len(HIDDEN_RANGES), "hidden profiles depend on the seed"


@pytest.mark.parametrize("task", L2_TASKS, ids=lambda p: p.name)
def test_the_prompts_range_tables_read_the_ranges_the_cases_draw_with(task):
    """The content validator reads a task's RANGES from its tests/cases.py without running it (it needs torch and
    the harness): what it reads is what the cases module holds."""
    spec = importlib.util.spec_from_file_location(f"l2_cases_{task.name}", task / "tests" / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert task_ranges(task) == getattr(module, "RANGES", {})


def _launch(**over):
    launch = {
        "kernel": "k",
        "grid": [4, 1, 1],
        "constexprs": {"BLOCK_N": 256},
        "options": {},
        "tensors": {"x_ptr": {"dtype": "float32", "shape": [4, 256], "span": 1024}},
    }
    launch.update(over)
    return launch


def _bytes(launch):
    return launch["constexprs"]["BLOCK_N"] * 4 * 3


@pytest.mark.parametrize(
    ("profile", "launch", "expected"),
    [
        ("gpgpu-32", _launch(), None),
        ("npu-like", _launch(), None),
        ("npu-like", _launch(options={"num_warps": 4}), "ignores num_warps"),
        ("mlu-like", _launch(options={"num_warps": 2}), "num_warps=2 is not one of the allowed [1, 4]"),
        ("gpgpu-64", _launch(options={"num_warps": 32}), "num_warps=32 is not one of the allowed"),
        ("gpgpu-32", _launch(options={"num_stages": 5}), "num_stages=5 > num_stages_max 4"),
        ("gpgpu-32", _launch(constexprs={"BLOCK_N": 96}), "BLOCK_N=96 is not a power of two"),
        ("npu-like", _launch(constexprs={"BLOCK_N": 512}), "BLOCK_N=512 > max_block_numel 256"),
        ("npu-like", _launch(constexprs={"BLOCK_M": 16, "BLOCK_N": 32}), "= 512 elements > max_block_numel 256"),
        ("mlu-like", _launch(constexprs={"BLOCK_N": 2048}), "tile 24 KiB > on-chip 16 KiB"),
        ("mlu-like", _launch(grid=[70000, 1, 1]), "grid axis 0 has 70000 programs > max_grid[0] 65535"),
        ("mlu-like", _launch(grid=None), "grid could not be evaluated"),
        (
            "xpu-like",
            _launch(tensors={"x": {"dtype": "int64", "shape": [8], "span": 8}}),
            "argument x is int64, which this chip does not have",
        ),
        (
            "xpu-like",
            _launch(tensors={"x": {"dtype": "float32", "shape": [2**20], "span": 2**20}}),
            "spans 1048576 elements ≥ max_index 1048576",
        ),
        ("gpgpu-32", _launch(tensors={"x": {"dtype": "float32", "shape": [2**20], "span": 2**20}}), None),
    ],
)
def test_launch_check_names_the_limit(profile, launch, expected):
    problem = check_launch(launch, PUBLIC_PROFILES[profile], _bytes)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem.text


def test_log_check_names_the_launch_number_and_kernel():
    log = {"launches": [_launch(), _launch(kernel="second", constexprs={"BLOCK_N": 8192})], "dropped": 0}
    problem = check_log(log, PUBLIC_PROFILES["mlu-like"], _bytes)
    assert problem.text.startswith("launch 2 (second) on mlu-like: BLOCK_N=8192 > max_block_numel 4096")
    assert "more than" in check_log({"launches": [], "dropped": 3}, PUBLIC_PROFILES["mlu-like"], _bytes).text


def test_a_variant_without_a_dtype_is_labelled_and_lacks_it():
    variant = without(PUBLIC_PROFILES["gpgpu-32"], "bf16")
    assert "bf16" not in variant.dtypes and label(variant) == "gpgpu-32 no-bf16"
    assert not variant.supports(torch.bfloat16) and variant.supports(torch.int16)
    assert without(PUBLIC_PROFILES["xpu-like"], "bf16") is PUBLIC_PROFILES["xpu-like"]


def test_profile_travels_to_the_candidate_unchanged():
    for profile in PUBLIC_PROFILES.values():
        assert ChipProfile.from_wire(profile.to_wire()) == profile
    with pytest.raises(ValueError, match="fields differ"):
        ChipProfile.from_wire({"name": "x"})


def test_the_course_lesson_shows_the_graded_public_profiles():
    lesson = REPO / "courses" / "l2" / "02-capabilities-and-portable-kernels" / "01-capability-profiles"
    for language in ("en", "zh"):
        rows = {
            cells[0]: cells
            for line in (lesson / f"lesson.{language}.md").read_text().splitlines()
            if line.startswith("| ")
            and (cells := [c.strip().strip("`") for c in line.strip("|").split("|")])[0] in PUBLIC_PROFILES
        }
        assert sorted(rows) == sorted(PUBLIC_PROFILES), language
        for name, cells in rows.items():
            p = PUBLIC_PROFILES[name]
            warps = ", ".join(map(str, p.allowed_num_warps)) if p.allowed_num_warps else cells[2]
            assert cells[1:3] == [str(p.warp_size), warps], (language, name)
            assert cells[3] == str(p.max_threads_per_program) and cells[4] == f"{p.onchip_bytes // 1024} KiB"
            assert cells[5] == str(p.max_block_numel) and cells[6] == str(p.compute_units)
            assert cells[8] == f"2^{p.max_index.bit_length() - 1}" and p.max_index & (p.max_index - 1) == 0


def test_the_published_footprint_formula():
    launch = _launch(constexprs={"BLOCK_R": 8, "BLOCK_C": 32, "SPLIT": 3})
    launch["tensors"]["half"] = {"dtype": "float16", "shape": [8], "span": 8}
    launch["tensors"]["index"] = {"dtype": "int32", "shape": [8], "span": 8}
    assert tile_footprint(launch) == 8 * 32 * 4 * 3, "widest float argument, 1 stage when none is passed"
    assert tile_footprint({**launch, "options": {"num_stages": 2}}, elem=2) == 8 * 32 * 2 * 4
    assert tile_footprint(_launch(tensors={})) == 256 * 4 * 3


@pytest.mark.parametrize(
    ("language", "says", "never"),
    [
        ("en", "launch 1 (row_kernel) on mlu-like: tile 24 KiB > on-chip 16 KiB", "片上"),
        ("zh-CN", "第 1 次启动（row_kernel）在 mlu-like 上：分块 24 KiB > 片上存储 16 KiB", "on-chip"),
    ],
)
def test_a_launch_verdict_reaches_the_candidate_in_their_language(app, language, says, never):
    """A tile over the chip's on-chip memory, judged as the kind judges a call, through results.json to the page."""
    from gradelib.chips import chip_case
    from gradelib.kinds.chip_profile import ChipProfileKind
    from gradelib.results import FAILED, GradeResult, case_result

    from certplatform.sandbox import grader_messages
    from certplatform.sandbox.results import parse_results

    x = torch.zeros(4, 2048)
    case = chip_case("copy (4, 2048)", lambda t: t, (x,), PUBLIC_PROFILES["mlu-like"], footprint=tile_footprint)
    log = {"launches": [_launch(kernel="row_kernel", constexprs={"BLOCK_N": 2048})], "dropped": 0}
    passed, verdict = ChipProfileKind()._judge(x.clone(), case, {"launch_log": log})
    test = case_result(case.name, passed, verdict)
    raw = GradeResult(FAILED, 0.0, (test,), "0 of 1 tests passed").to_json().encode()
    stored = parse_results(raw, 1.0, "process").tests[0]
    assert not passed and stored.message.startswith(says if language == "en" else "launch 1 (row_kernel)")
    with app.test_request_context("/", headers={"Accept-Language": language}):
        shown = grader_messages.test_message({"message": stored.message, "parts": list(stored.parts)})
    assert shown.startswith(says) and never not in shown, shown


def test_every_harness_message_has_its_chinese():
    """Each template of gradelib/messages.py is in the Chinese catalog, translated and not fuzzy."""
    from babel.messages.pofile import read_po
    from gradelib.messages import TEMPLATES

    po = REPO / "certplatform" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    missing = [code for code, text in TEMPLATES.items() if not (catalog.get(text) and catalog.get(text).string)]
    fuzzy = [code for code, text in TEMPLATES.items() if catalog.get(text) and catalog.get(text).fuzzy]
    assert not missing and not fuzzy, (missing, fuzzy)
