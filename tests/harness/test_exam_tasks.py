"""The L1 exam content graded by the harness exactly as in the sandbox (candidate as uid 10001): what a grade reports
besides its verdict. (Every reference solution scoring 1.0 and no starter passing is the exam self-test's proof,
in real containers: `certplatform exams selftest`.)"""


from gradelib.results import PASSED

from .conftest import EXAM


def test_every_test_reports_its_compute_time(grade_source):
    """The candidate's call plus the checker's reference, per test; the submission's is their sum, and it is far
    below the time the whole grade took (interpreter start-up and imports are not the tests' cost)."""
    import time

    started = time.monotonic()
    source = (EXAM / "tasks" / "softmax" / "solution.py").read_text()
    result = grade_source(source, tests_dir=EXAM / "tasks" / "softmax" / "tests", wall_seconds=120)
    elapsed = time.monotonic() - started
    assert result.status == PASSED
    assert all(t.compute_s is not None and t.compute_s > 0 for t in result.tests)
    assert result.compute_s == sum(t.compute_s for t in result.tests) and result.compute_s < elapsed
