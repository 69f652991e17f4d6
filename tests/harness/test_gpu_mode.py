"""The harness's GPU mode without a GPU: runtime.json, the candidate's environment, the timing loop driven by a
fake clock, the statistics and the speedup flag, the L2 flush sizing and the TF32 tolerance. What needs a real
device runs in the triton-gpu image on a GPU host (tests/test_gpu_runtime.py, marker `gpu`): this process's torch
is the CPU build."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gradelib import channel, checker, guards, runtime, timing
from gradelib.checker import HarnessError
from gradelib.isolation import candidate_identity
from gradelib.layout import Layout
from gradelib.limits import Limits
from gradelib.results import PASSED, TestResult
from gradelib.runtime import Runtime, RuntimeConfigError
from gradelib.session import CandidateProcess
from gradelib.triton_cases import Case, compare, device_args, make_case, randn, tolerance

from .conftest import GOOD_ADD, HARNESS, candidate_pids, make_root

# ---- runtime.json ------------------------------------------------------------------------------------------


def test_absent_runtime_file_is_the_cpu_interpreter(tmp_path):
    rt = Runtime.load(tmp_path / "runtime.json")
    assert rt == Runtime() and rt.device == "cpu" and rt.interpreted and not rt.timing
    assert rt.candidate_env({"LD_LIBRARY_PATH": "/x"}) == {}


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"device": "cpu"}, Runtime("cpu", False)),
        ({"device": "cpu", "timing": False}, Runtime("cpu", False)),
        ({"device": "cuda"}, Runtime("cuda", True)),
        ({"device": "cuda", "timing": False}, Runtime("cuda", False)),
    ],
)
def test_runtime_file_values(tmp_path, data, expected):
    (tmp_path / "runtime.json").write_text(json.dumps(data))
    assert Runtime.load(tmp_path / "runtime.json") == expected


@pytest.mark.parametrize(
    "text, error",
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('"cuda"', "JSON object"),
        ("{}", "device must be one of"),
        ('{"device": "gpu"}', "device must be one of"),
        ('{"device": "CUDA"}', "device must be one of"),
        ('{"device": null}', "device must be one of"),
        ('{"device": "cuda", "timing": "yes"}', "timing must be true or false"),
        ('{"device": "cpu", "timing": true}', "timing needs device cuda"),
        ('{"device": "cuda", "seed": 1}', "unknown key"),
        ('{"device": "cuda", "pad": "' + "x" * 5000 + '"}', "larger than"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_bad_runtime_files_are_refused(tmp_path, text, error):
    path = tmp_path / "runtime.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(RuntimeConfigError, match=error):
        Runtime.load(path)


def test_cuda_without_a_visible_device_is_refused():
    runtime.check_available(Runtime(), probe=lambda: False)  # the CPU never asks
    runtime.check_available(Runtime("cuda", True), probe=lambda: True)
    with pytest.raises(RuntimeConfigError, match="no CUDA device is visible"):
        runtime.check_available(Runtime("cuda", True), probe=lambda: False)


def test_the_candidate_environment_per_device(tmp_path):
    parent = {"LD_LIBRARY_PATH": "/usr/local/nvidia/lib64", "NVIDIA_VISIBLE_DEVICES": "all", "SECRET": "x"}

    def env(rt):
        proc = CandidateProcess(
            submission=tmp_path / "s.py",
            entry="add",
            scratch=tmp_path,
            identity=candidate_identity("off"),
            limits=Limits(),
            runtime=rt,
        )
        return proc.environment()

    cpu = env(None)
    assert cpu["TRITON_INTERPRET"] == "1" and runtime.DEVICE_VAR not in cpu and "TRITON_F32_DEFAULT" not in cpu
    assert set(cpu) == set(env(Runtime())) and "LD_LIBRARY_PATH" not in cpu
    cuda_extra = Runtime("cuda", True).candidate_env(parent)
    assert cuda_extra == {
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64",
        "NVIDIA_VISIBLE_DEVICES": "all",
        "TRITON_F32_DEFAULT": "ieee",
        runtime.DEVICE_VAR: "cuda",
    }
    cuda = env(Runtime("cuda", True))
    assert "TRITON_INTERPRET" not in cuda and cuda[runtime.DEVICE_VAR] == "cuda" and "SECRET" not in cuda


def _grade_dir(grade_base, runtime_json: str | None) -> Path:
    root = make_root(grade_base, GOOD_ADD)
    (root / "seed").write_text("7\n")
    if runtime_json is not None:
        (root / "runtime.json").write_text(runtime_json)
    return root


def test_cpu_runtime_file_grades_exactly_like_no_file(grade_base):
    root = _grade_dir(grade_base, '{"device": "cpu"}')
    limits = Limits.from_mapping({"wall_seconds": 60, "output_kb": 16})
    result = checker.grade(Layout(root), limits=limits, isolation="require")
    assert result.status == PASSED, result.message
    assert all(t.timing is None and "timing" not in t.to_dict() for t in result.tests)
    assert (root / "runtime.json").stat().st_mode & 0o777 == 0o600  # locked down with the other hidden files


@pytest.mark.parametrize("text", ['{"device": "cuda"}', '{"device": "tpu"}', "{broken"])
def test_a_gpu_or_bad_runtime_file_without_a_gpu_is_a_harness_error(grade_base, text, monkeypatch):
    monkeypatch.setattr(runtime, "cuda_available", lambda: False)  # a GPU host runs this too
    root = _grade_dir(grade_base, text)
    with pytest.raises(HarnessError):
        checker.grade(Layout(root), limits=Limits(wall_seconds=60), isolation="require")
    code = checker.run(root, limits=Limits(wall_seconds=60), isolation="require", echo=False)
    result = json.loads((root / "results" / "results.json").read_text())
    assert code == checker.EXIT_HARNESS_FAILURE and result["message"].startswith("harness error")


def test_candidate_process_that_cannot_see_the_gpu_is_not_the_candidates_fault(grade_base, monkeypatch):
    """The checker believes in a GPU; the candidate process (uid 10001, CUDA mode: no TRITON_INTERPRET, no
    RLIMIT_AS) starts for real, finds none before importing the submission, and the run is a harness error.
    On a GPU host the candidate inherits an empty CUDA_VISIBLE_DEVICES, so it sees none there either."""
    monkeypatch.setattr(runtime, "cuda_available", lambda: True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    root = _grade_dir(grade_base, '{"device": "cuda"}')
    code = checker.run(root, limits=Limits(wall_seconds=60), isolation="require", echo=False)
    result = json.loads((root / "results" / "results.json").read_text())
    assert code == checker.EXIT_HARNESS_FAILURE
    assert "cannot use the GPU" in result["message"] and result["tests"] == []
    # Only this checkout's candidates: other checkouts on the machine may be grading concurrently.
    mine = str(HARNESS / "run_candidate.py").encode()
    assert [pid for pid in candidate_pids() if mine in _cmdline(pid)] == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"CERTPLATFORM_DEVICE": "cuda"}, "unavailable"),  # no GPU here; the interpreter was not forced on
        ({"CERTPLATFORM_DEVICE": "cuda", "TRITON_INTERPRET": "1"}, "unavailable"),  # run_candidate drops it
        ({"CERTPLATFORM_DEVICE": "tpu"}, "unknown device"),
    ],
)
def test_run_candidate_settles_the_interpreter_before_triton(tmp_path, env, expected):
    parent, child = socket.socketpair()
    submission = tmp_path / "submission.py"
    submission.write_text(GOOD_ADD)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-E",
            "-s",
            "-B",
            str(HARNESS / "run_candidate.py"),
            str(child.fileno()),
            str(submission),
            "add",
        ],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": "", **env},  # no GPU seen
        pass_fds=(child.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child.close()
    with parent:
        header, _ = channel.recv(parent, deadline=None)
    proc.wait(timeout=60)
    assert header["type"] == expected or expected in str(header.get("error")), header


# ---- the timing loop, with a fake clock ---------------------------------------------------------------------


class FakeClock:
    """A simulated device: calls advance the timeline; work "on another stream" completes only at synchronize."""

    def __init__(self):
        self.t = 0.0  # ms of device time
        self.pending = 0.0
        self.log: list[str] = []

    def run(self, ms: float, side_stream_ms: float = 0.0) -> None:
        self.log.append("call")
        self.t += ms
        self.pending += side_stream_ms

    def flush_l2(self) -> None:
        self.log.append("flush")
        self.t += 0.5  # the flush is before the start mark: it must never be counted

    def mark(self) -> float:
        self.log.append("mark")
        return self.t

    def synchronize(self) -> None:
        self.log.append("sync")
        self.t += self.pending
        self.pending = 0.0

    def elapsed_ms(self, start: float, end: float) -> float:
        return end - start

    def now(self) -> float:
        return self.t / 1000.0


def test_measure_warms_up_flushes_and_repeats():
    clock = FakeClock()
    samples = timing.measure(lambda: clock.run(1.0), clock, now=clock.now)
    assert samples == [1.0] * timing.DEFAULT_PLAN.reps_for(1.0) == [1.0] * 100
    calls = clock.log.count("call")
    assert calls == 25 + 100  # warm-up: at least 3 calls and 25 ms of device time
    # Every call: flush, start mark, call, device-wide sync, end mark, in that order.
    text = " ".join(clock.log)
    assert text.count("flush mark call sync mark") == calls


def test_measure_counts_work_left_on_other_streams():
    clock = FakeClock()
    samples = timing.measure(lambda: clock.run(0.25, side_stream_ms=2.0), clock, now=clock.now)
    assert set(samples) == {2.25}


def test_measure_stays_within_its_budget():
    clock = FakeClock()
    samples = timing.measure(lambda: clock.run(50.0), clock, budget_s=0.4, now=clock.now)
    assert 1 <= len(samples) <= 6 and clock.t <= 500 + 2 * 50.5


def test_warm_up_runs_even_without_budget_left():
    clock = FakeClock()
    samples = timing.measure(lambda: clock.run(300.0), clock, budget_s=0.1, now=clock.now)
    assert len(samples) == 1 and clock.log.count("call") == 2


@pytest.mark.parametrize(
    "estimate, budget, reps",
    [
        (1.0, None, 100),
        (0.0, None, 200),
        (0.01, None, 200),
        (30.0, None, 10),
        (1000.0, None, 10),
        (1.0, 20, 20),
        (100.0, 50, 1),
        (1.0, 0, 1),
    ],
)
def test_repetitions_per_estimate_and_budget(estimate, budget, reps):
    assert timing.DEFAULT_PLAN.reps_for(estimate, budget) == reps


@pytest.mark.parametrize(
    "l2, free, expected",
    [
        (40 * timing.MB, None, 80 * timing.MB),  # A100
        (50 * timing.MB, 80 << 30, 100 * timing.MB),  # H100
        (6 * timing.MB, None, 32 * timing.MB),  # small L2: at least 32 MB
        (None, None, 256 * timing.MB),  # unknown: do_bench's buffer
        (0, None, 256 * timing.MB),
        (50 * timing.MB, 400 * timing.MB, 50 * timing.MB),  # never more than 1/8 of free memory
        (50 * timing.MB, 100_000_003, 12_500_000),
    ],
)
def test_l2_flush_buffer_size(l2, free, expected):
    size = timing.l2_flush_bytes(l2, free)
    assert size == expected and size % 4 == 0


def test_samples_from_the_candidate_are_validated():
    assert timing.validate_samples([1, 2.5]) == [1.0, 2.5]
    for bad in ([], None, "1.0", [float("nan")], [float("inf")], [-1.0], [True], ["1"], [1.0] * 201):
        with pytest.raises(ValueError):
            timing.validate_samples(bad)


def test_statistics_and_the_timing_record():
    stats = timing.summarize([3.0, 1.0, 2.0, 10.0])
    assert (stats.median, stats.minimum, stats.maximum, stats.mean, stats.reps) == (2.5, 1.0, 10.0, 4.0, 4)
    with pytest.raises(ValueError):
        timing.summarize([])
    record = timing.timing_record([0.1, 0.1, 0.2], [0.3, 0.3])
    assert record == {
        "median_ms": 0.1,
        "min_ms": 0.1,
        "mean_ms": 0.133333,
        "reps": 3,
        "torch_median_ms": 0.3,
        "speedup": 3.0,
    }


def test_speedup_and_the_implausible_flag():
    ok = timing.timing_record([1.0], [9.0])
    assert ok["speedup"] == 9.0 and "flag" not in ok
    fast = timing.timing_record([1.0], [10.5])
    assert fast["speedup"] == 10.5 and "implausible speedup 10.5x" in fast["flag"]
    zero = timing.timing_record([0.0, 0.0], [1.0])
    assert "speedup" not in zero and "no measurable device time" in zero["flag"]
    alone = timing.timing_record([1.0], None)
    assert "speedup" not in alone and "torch_median_ms" not in alone and "flag" not in alone
    for record in (ok, fast, zero, alone):
        json.dumps(record, allow_nan=False)
    assert "speedup 9.00x" in timing.describe(ok) and "[implausible" in timing.describe(fast)


def test_passthrough_mode_forwards_every_op():
    x = torch.arange(4.0)
    with timing.passthrough_mode():
        y = torch.softmax(x, dim=0) @ x
    assert torch.allclose(y, torch.softmax(x, dim=0) @ x)


# ---- results, inputs, guards --------------------------------------------------------------------------------


def test_timing_appears_in_results_only_when_measured():
    plain = TestResult("a", True, 1.0, "ok")
    assert set(plain.to_dict()) == {"name", "passed", "score", "message"}
    timed = TestResult("a", True, 1.0, "ok", {"median_ms": 0.01, "reps": 10})
    assert timed.to_dict()["timing"] == {"median_ms": 0.01, "reps": 10}


def test_tensor_bytes_and_device_args_keep_layouts():
    gen = torch.Generator().manual_seed(0)
    x = randn((24, 70), torch.float16, gen, layout="sliced")
    case = make_case("x", lambda a, alpha: a * alpha, (x,), {"alpha": 2})
    args, kwargs = device_args(case, "cpu")
    assert args[0].stride() == x.stride() and torch.equal(args[0], x) and kwargs == {"alpha": 2}
    assert args[0].data_ptr() != x.data_ptr()
    assert channel.tensor_bytes(x) == x.contiguous().view(torch.uint8).numpy().tobytes()
    assert case.reference is not None and case.dot_precision == "ieee"


def test_canary_padding_can_be_switched_off_for_timing():
    guard = guards.Guard()
    with guard:
        torch.empty(16)
    assert len(guard.reset().allocations) == 1
    guard.pad = False
    with guard:
        out = torch.empty(16)
    assert guard.reset().allocations == [] and out.shape == (16,)


def test_compiled_launches_are_counted_at_jitfunction_run(monkeypatch):
    from triton.runtime import jit

    calls = []
    monkeypatch.setattr(jit.JITFunction, "run", lambda self, *a, grid, warmup, **k: calls.append(warmup))
    guard = guards.Guard()
    guards.install_compiled_launch_hook(guard)
    jit.JITFunction.run(object(), 1, grid=(1,), warmup=True)  # compile only
    jit.JITFunction.run(object(), 1, grid=(1,), warmup=False)
    assert guard.record.launches == 1 and calls == [True, False] and guard.in_launch == 0


def test_the_cuda_event_class_is_watched_on_the_gpu_runtime(monkeypatch):
    monkeypatch.setattr(guards, "_EXTRA_WATCHED", {})
    assert ("torch.cuda", "Event") not in guards.snapshot()
    guards.watch_cuda()
    before = guards.snapshot()
    assert ("torch.cuda", "synchronize") in before
    monkeypatch.setattr(torch.cuda.Event, "elapsed_time", lambda self, end: 0.0)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    assert {"torch.cuda.Event.elapsed_time", "torch.cuda.synchronize"} <= set(guards.patched_since(before))


# ---- tolerances: IEEE by default, TF32 where a task allows it ------------------------------------------------


def test_tolerances_per_dtype_and_precision():
    assert tolerance(torch.float32, 1000) == (pytest.approx(0.1), 1.3e-6)
    assert tolerance(torch.float16, 1000, "tf32") == tolerance(torch.float16, 1000)  # TF32 concerns fp32 only
    assert tolerance(torch.float32, 1, "tf32") == (5e-3, 2e-3)
    atol, rtol = tolerance(torch.float32, 4097, "tf32")
    assert atol == pytest.approx(0.4097) and rtol == 2e-3  # FlagGems' atol wins for long reductions
    assert tolerance(torch.float32, 100, "tf32")[0] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="dot_precision"):
        tolerance(torch.float32, 1, "fp8")
    with pytest.raises(ValueError, match="dot_precision"):
        make_case("x", lambda a: a, (torch.ones(1),), dot_precision="TF32")


def _tf32(t: torch.Tensor, rounding: bool) -> torch.Tensor:
    """fp32 with only TF32's 10 mantissa bits (tensor cores truncate; cuBLAS rounds)."""
    bits = t.float().contiguous().view(torch.int32)
    if rounding:
        bits = bits + 0x1000
    return (bits & ~0x1FFF).view(torch.float32).reshape(t.shape)


MATMUL_SHAPES = [(1, 1, 1), (127, 33, 129), (100, 1000, 64), (1, 4097, 3), (64, 80, 96)]  # the L1 fp32 shapes


@pytest.mark.parametrize("rounding", [False, True])
def test_emulated_tf32_matmul_needs_and_passes_the_tf32_tolerance(rounding):
    failed_ieee = 0
    for seed in range(8):
        gen = torch.Generator().manual_seed(seed)
        for m, k, n in MATMUL_SHAPES:
            a, b = randn((m, k), torch.float32, gen), randn((k, n), torch.float32, gen)
            tf32_out = (_tf32(a, rounding).double() @ _tf32(b, rounding).double()).float()
            allowed = make_case("mm", lambda x, y: x @ y, (a, b), reduce_dim=k, dot_precision="tf32")
            strict = make_case("mm", lambda x, y: x @ y, (a, b), reduce_dim=k)
            ok, message = compare(tf32_out, allowed)
            assert ok, (m, k, n, message)
            failed_ieee += not compare(tf32_out, strict)[0]
            assert compare((a.double() @ b.double()).float(), strict)[0]  # IEEE results pass the strict one
    assert failed_ieee > 0  # without the harness's TRITON_F32_DEFAULT=ieee, TF32 kernels would fail fp32 cases


def test_the_tf32_tolerance_still_catches_a_kernel_that_skips_work():
    gen = torch.Generator().manual_seed(3)
    for m, k, n in [(127, 33, 129), (100, 1000, 64), (64, 80, 96)]:
        a, b = randn((m, k), torch.float32, gen), randn((k, n), torch.float32, gen)
        case = make_case("mm", lambda x, y: x @ y, (a, b), reduce_dim=k, dot_precision="tf32")
        skipped_last_k = (_tf32(a[:, :-1], True).double() @ _tf32(b[:-1], True).double()).float()
        assert not compare(skipped_last_k, case)[0], (m, k, n)


def test_cases_default_to_ieee():
    case = Case("c", (), torch.zeros(1, dtype=torch.float64), torch.float32, reduce_dim=7)
    assert case.dot_precision == "ieee" and case.tolerance == tolerance(torch.float32, 7)
