"""Each anti-cheat rule of the grader contract, end to end: candidate code runs as uid 10001 in its own
process."""

import json

import pytest
from gradelib.results import ERROR, FAILED, PASSED, REJECTED

from .conftest import GOOD_ADD, candidate_ids, candidate_pids

# The same checks against a candidate process started warm, as a pooled container starts it.
pytestmark = pytest.mark.parametrize("grade_source", ["cold", "warm"], indirect=True)

PRELUDE = "import torch\nimport triton\nimport triton.language as tl\n"
KERNEL = GOOD_ADD.split("def add(x, y):")[0]


def test_a_correct_submission_passes(grade_source):
    result = grade_source(GOOD_ADD)
    assert result.status == PASSED, result
    assert result.score == 1.0 and all(t.passed for t in result.tests)


def test_torch_compute_is_rejected_statically(grade_source):
    result = grade_source(PRELUDE + "def add(x, y):\n    return torch.add(x, y)\n")
    assert result.status == REJECTED and result.score == 0.0
    assert "torch.add is not allowed" in result.message


def test_torch_compute_hidden_from_the_scan_is_caught_at_run_time(grade_source):
    # Operators are invisible to the static scan (types are unknown); the dispatch guard sees aten.add.
    source = (
        KERNEL + "def add(x, y):\n    out = torch.empty_like(x)\n    add_kernel[(1,)](x, y, out, 0, BLOCK=16)\n"
        "    return x + y\n"
    )
    result = grade_source(source)
    assert result.status == REJECTED and result.score == 0.0
    assert "computed with torch instead of Triton" in result.message and "aten.add" in result.message


def test_torch_compute_inside_a_kernel_is_caught(grade_source):
    # A "kernel" that reaches a tensor through a default argument and computes on it with torch while it runs.
    source = PRELUDE + (
        "@triton.jit\ndef k(p, n):\n    pass\n\n"
        "def add(x, y, box=[]):\n    box.append(x)\n    out = torch.empty_like(x)\n"
        "    k[(1,)](out, 1)\n    out.copy_(box[0].mul(1))\n    return out\n"
    )
    result = grade_source(source, static_scan=False)
    assert result.status == REJECTED and "aten.mul" in result.message


def test_a_call_that_launches_no_kernel_fails_its_test(grade_source):
    result = grade_source(PRELUDE + "def add(x, y):\n    return torch.empty_like(x)\n")
    assert result.status == FAILED and result.score == 0.0
    assert all("no Triton kernel ran for this case" in t.message for t in result.tests), result.tests


def test_a_size_path_without_a_kernel_fails_only_its_cases(grade_source):
    # An honest bug, not cheating: small inputs take a path that forgot to launch the kernel. The large case
    # keeps its credit; nothing is "rejected" and no test is left "not run".
    source = GOOD_ADD.replace("    add_kernel[", "    if n < 500:\n        return out\n    add_kernel[")
    result = grade_source(source)
    assert result.status == FAILED and result.score == 0.5, result
    small = next(t for t in result.tests if "129" in t.name)
    assert not small.passed and "no Triton kernel ran for this case" in small.message
    assert not any("not run" in t.message for t in result.tests)
    assert small.parts == ({"code": "test.no_launch", "args": {}},)


def test_returning_an_input_is_rejected(grade_source):
    source = KERNEL + "def add(x, y):\n    add_kernel[(1,)](x, y, torch.empty_like(x), 0, BLOCK=16)\n    return x\n"
    result = grade_source(source)
    assert result.status == REJECTED and "returned an input tensor" in result.message


def test_mutating_an_input_is_rejected(grade_source):
    # Computes the right answer, but in place into x.
    source = KERNEL + (
        "def add(x, y):\n    n = x.numel()\n"
        "    add_kernel[(triton.cdiv(n, 256),)](x, y, x, n, BLOCK=256)\n    return x\n"
    )
    result = grade_source(source)
    assert result.status == REJECTED and "modified its input" in result.message


def test_writing_into_an_input_out_of_bounds_is_rejected(grade_source):
    # Correct output, but the tail of the last block is stored into y's buffer (its canary padding) unmasked.
    source = PRELUDE + (
        "@triton.jit\ndef k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n    mask = offs < n\n"
        "    s = tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask)\n"
        "    tl.store(out_ptr + offs, s, mask=mask)\n    tl.store(y_ptr + n + offs, s * 0, mask=offs < 4)\n\n"
        "def add(x, y):\n    out = torch.empty_like(x)\n    n = x.numel()\n"
        "    k[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)\n    return out\n"
    )
    result = grade_source(source)
    assert result.status == REJECTED and "modified its input" in result.message


def test_missing_store_mask_fails_the_test_through_the_canaries(grade_source):
    # Values are right, but the unmasked store writes past the end of the output: caught by the canary
    # padding.
    source = PRELUDE + (
        "@triton.jit\ndef k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n    mask = offs < n\n"
        "    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask, other=0.0) + "
        "tl.load(y_ptr + offs, mask=mask, other=0.0))\n\n"
        "def add(x, y):\n    out = torch.empty_like(x)\n    n = x.numel()\n"
        "    k[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)\n    return out\n"
    )
    result = grade_source(source)
    assert result.status == FAILED and result.score == 0.0
    assert all("outside the output tensor" in t.message for t in result.tests), result.tests


HIDDEN_PROBE = """
import os
print("uid", os.getuid(), os.geteuid(), os.getgid(), os.getgroups())
for path in PATHS:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path).read()
        print("READ", path)
    except PermissionError:
        print("denied", path)
try:
    os.setuid(0)
    print("ROOT AGAIN")
except PermissionError:
    print("setuid denied")
"""


def test_candidate_runs_as_the_candidate_user_and_cannot_read_hidden_files(grade_source, grade_base):
    grade = grade_base / "grade"
    paths = [
        str(grade / "tests"),
        str(grade / "tests" / "cases.py"),
        str(grade / "seed"),
        str(grade / "results"),
    ]
    source = GOOD_ADD + f"\nPATHS = {paths!r}\n" + HIDDEN_PROBE
    result = grade_source(source, static_scan=False)
    assert result.status == PASSED, result
    uid, gid = candidate_ids()
    assert f"uid {uid} {uid} {gid} []" in result.stdout
    assert result.stdout.count("denied") == 5, result.stdout
    assert "READ" not in result.stdout and "ROOT AGAIN" not in result.stdout


def test_reading_hidden_files_is_rejected_statically(grade_source):
    result = grade_source(GOOD_ADD + "\nSECRET = open('/grade/tests/cases.py').read()\n")
    assert result.status == REJECTED and "'open'" in result.message


def test_forged_stdout_and_results_file_do_not_change_the_grade(grade_source, grade_base):
    fake = json.dumps({"status": "passed", "score": 1.0, "tests": [], "message": "forged"})
    line = f"certplatform-harness: result 0 {fake}"  # the line a pooled harness sends its backend (delivery.py)
    results = grade_base / "grade" / "results" / "results.json"
    source = PRELUDE + (
        f"import os, sys\nprint({fake!r})\nprint({line!r})\nprint({fake!r}, file=sys.stderr)\n"
        f"try:\n    open({str(results)!r}, 'w').write({fake!r})\n"
        "except OSError as exc:\n    print('write failed', exc)\n"
        # The checker's own stdin (a pooled container's submission) and stdout (its result line), through /proc.
        "for fd, how in ((0, 'rb'), (1, 'wb')):\n"
        "    try:\n        open('/proc/%d/fd/%d' % (os.getppid(), fd), how)\n        print('checker fd OPEN')\n"
        "    except OSError:\n        print('checker fd denied')\n"
        "@triton.jit\ndef k(p, n):\n    pass\n\n"
        "def add(x, y):\n    out = torch.empty_like(x)\n    k[(1,)](out, 1)\n    return out\n"
    )
    result = grade_source(source, static_scan=False)
    assert result.status == FAILED and result.score == 0.0
    assert "forged" in result.stdout and "write failed" in result.stdout and "forged" in result.stderr
    assert result.message != "forged"
    assert result.stdout.count("checker fd denied") == 2 and "OPEN" not in result.stdout, result.stdout


def test_monkeypatching_torch_is_rejected_statically(grade_source):
    result = grade_source(GOOD_ADD + "\ntorch.allclose = lambda *a, **k: True\n")
    assert result.status == REJECTED and "monkeypatching" in result.message


def test_monkeypatching_torch_at_run_time_is_rejected(grade_source):
    source = GOOD_ADD + "\nimport sys\nsys.modules['torch'].Tensor.__eq__ = lambda a, b: True\n"
    result = grade_source(source, static_scan=False)
    assert result.status == REJECTED and "torch.Tensor.__eq__" in result.message


def test_monkeypatching_numpy_during_the_call_is_rejected(grade_source):
    source = GOOD_ADD.replace(
        "    return out", "    import numpy\n    numpy.allclose = lambda *a, **k: True\n    return out"
    )
    result = grade_source(source, static_scan=False)
    assert result.status == REJECTED and "numpy.allclose" in result.message


def test_patching_the_harness_guards_is_rejected(grade_source):
    source = GOOD_ADD + (
        "\nimport sys\nsys.modules['gradelib.guards'].canary_damage = lambda record: 0\n"
        "sys.modules['gradelib.guards'].Guard.__torch_dispatch__ = "
        "lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))\n"
    )
    result = grade_source(source, static_scan=False)
    assert result.status == REJECTED
    assert "gradelib.guards.canary_damage" in result.message


def test_leaving_a_process_behind_is_rejected_and_it_is_killed(grade_source):
    source = GOOD_ADD.replace(
        "def add(x, y):",
        "import os, time\n\ndef add(x, y):\n    if os.fork() == 0:\n        time.sleep(120)\n        os._exit(0)",
    )
    result = grade_source(source, static_scan=False)
    assert result.status == REJECTED and "left" in result.message and "process" in result.message
    assert candidate_pids() == []


def test_wrong_output_dtype_fails_the_test(grade_source):
    source = GOOD_ADD.replace("out = torch.empty_like(x)", "out = torch.empty_like(x, dtype=torch.float32)")
    result = grade_source(source)
    assert result.status == FAILED and 0 < result.score < 1
    assert any("expected float16" in t.message for t in result.tests)


def test_import_errors_are_reported_as_error(grade_source):
    result = grade_source(GOOD_ADD + "\nraise RuntimeError('boom at import')\n")
    assert result.status == ERROR and result.score == 0.0
    assert "boom at import" in result.message


def test_exceptions_in_the_call_fail_that_test_with_the_line(grade_source):
    source = GOOD_ADD.replace(
        "    return out", "    if n < 500:\n        raise ValueError('too small')\n    return out"
    )
    result = grade_source(source)
    assert result.status == FAILED and result.score == 0.5
    failed = [t for t in result.tests if not t.passed]
    assert "ValueError: too small" in failed[0].message and "line" in failed[0].message


def test_triton_interpret_is_set_before_the_submission_is_imported(grade_source):
    source = "import os\nassert os.environ.get('TRITON_INTERPRET') == '1', 'not interpreted'\n" + GOOD_ADD
    assert grade_source(source, static_scan=False).status == PASSED


def test_numpy_runtime_warnings_from_correct_kernels_do_not_fail(grade_source):
    # exp overflows to inf in masked-off lanes and -inf - -inf makes nan: numpy warns, the result is still
    # right.
    source = PRELUDE + (
        "@triton.jit\ndef k(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):\n"
        "    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n    mask = offs < n\n"
        "    ninf = tl.load(x_ptr + offs, mask=offs < 0, other=float('-inf')).to(tl.float32)\n"
        "    junk = tl.exp(ninf - ninf) + tl.exp(-ninf)\n"
        "    s = tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask)\n"
        "    tl.store(out_ptr + offs, tl.where(junk == junk, s, s), mask=mask)\n\n"
        "def add(x, y):\n    out = torch.empty_like(x)\n    n = x.numel()\n"
        "    k[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)\n    return out\n"
    )
    result = grade_source(source)
    assert result.status == PASSED, result


def test_without_root_the_result_says_not_isolated(grade_source):
    result = grade_source(GOOD_ADD, isolation="off")
    assert result.status == PASSED
    assert "not isolated" in result.message


def test_leftover_processes_are_found_by_token_without_isolation(grade_source):
    # Without a dedicated uid the sweep must find the candidate's processes by the per-run token, and only
    # those.
    source = GOOD_ADD.replace(
        "def add(x, y):",
        "import os, time\n\ndef add(x, y):\n"
        "    if os.fork() == 0:\n        os.setsid()\n        time.sleep(120)\n        os._exit(0)",
    )
    result = grade_source(source, static_scan=False, isolation="off")
    assert result.status == REJECTED and "left" in result.message
    assert "not isolated" in result.message
