"""Resource abuse ends as timeout or error with a clear message, nothing of the candidate survives, and the
harness still answers within its wall limit."""

import time

import pytest
from gradelib.results import ERROR, TIMEOUT

from certplatform.sandbox.limits import CONTAINER_GRACE_S

from .conftest import GOOD_ADD, candidate_pids

# The same checks against a candidate process started warm, as a pooled container starts it.
pytestmark = pytest.mark.parametrize("grade_source", ["cold", "warm"], indirect=True)

SLOW_CALL = GOOD_ADD.replace("def add(x, y):", "def add(x, y):\n    ABUSE")


def abusive(code: str) -> str:
    return SLOW_CALL.replace("    ABUSE", "\n".join("    " + line for line in code.splitlines()))


def test_infinite_loop_times_out_per_call(grade_source):
    started = time.monotonic()
    result = grade_source(abusive("while True:\n    pass"), call_seconds=3)
    assert result.status == TIMEOUT and "time limit exceeded" in result.message
    assert all(not t.passed for t in result.tests) and "not run" in result.tests[1].message
    assert time.monotonic() - started < 30
    assert candidate_pids() == []


def test_sleeping_hits_the_wall_limit_before_the_backend_does(grade_source):
    started = time.monotonic()
    result = grade_source(
        "import time\n" + abusive("time.sleep(600)"), static_scan=False, call_seconds=600, wall_seconds=8
    )
    assert result.status == TIMEOUT
    # The harness writes its own result before the backend would kill the run (wall limit + grace).
    assert time.monotonic() - started < 8 + CONTAINER_GRACE_S
    assert candidate_pids() == []


def test_fork_bomb_is_contained_and_cleaned_up(grade_source):
    result = grade_source(
        "import os\n" + abusive("while True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        static_scan=False,
        call_seconds=4,
        pids=32,
    )
    assert result.status in (TIMEOUT, ERROR), result
    assert candidate_pids() == []


def test_memory_exhaustion_is_an_error(grade_source):
    result = grade_source(abusive("hog = bytearray(64 << 30)"), static_scan=False, memory_mb=512)
    assert result.status == ERROR and "MemoryError" in result.message, result


def test_disk_exhaustion_hits_the_file_size_limit(grade_source):
    result = grade_source(
        abusive("with open('big', 'wb') as fh:\n    while True:\n        fh.write(b'x' * (1 << 20))"),
        static_scan=False,
        file_size_mb=4,
    )
    assert result.status == ERROR and "file size limit" in result.message, result


def test_output_flood_is_stopped_and_truncated(grade_source):
    result = grade_source(abusive("while True:\n    print('spam' * 1000)"), output_kb=8)
    assert result.status == ERROR and "output flood" in result.message, result
    assert len(result.stdout) < 10_000 and "truncated" in result.stdout
    assert candidate_pids() == []


def test_a_crashing_interpreter_is_an_error(grade_source):
    result = grade_source("import ctypes\n" + abusive("ctypes.string_at(0)"), static_scan=False)
    assert result.status == ERROR and "SIGSEGV" in result.message, result


def test_exiting_the_process_is_an_error(grade_source):
    result = grade_source("import os\n" + abusive("os._exit(0)"), static_scan=False)
    assert result.status == ERROR and "died" in result.message and "exit code 0" in result.message
