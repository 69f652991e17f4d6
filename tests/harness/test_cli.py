"""grade.py as the container and the process backend run it: always one results.json, the same JSON on stdout,
exit 0 for a grade and 70 when the harness itself cannot grade."""

import json
import os
import stat
import subprocess
import sys

import pytest

from .conftest import GOOD_ADD, HARNESS, candidate_ids, candidate_pids, make_root


def run_grade(*args):
    return subprocess.run(
        [sys.executable, str(HARNESS / "grade.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_grade_writes_results_and_locks_down_hidden_paths(tmp_path):
    root = make_root(tmp_path, GOOD_ADD)
    (root / "limits.json").write_text(json.dumps({"wall_seconds": 60, "output_kb": 8}))
    (root / "seed").write_text("1234\n")
    proc = run_grade("--root", str(root))
    assert proc.returncode == 0, proc.stderr
    written = (root / "results" / "results.json").read_text()
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == json.loads(written)
    assert json.loads(written)["status"] == "passed"
    for path in (root / "tests", root / "results"):
        st = path.stat()
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700
    for path in (root / "seed", root / "limits.json", root / "results" / "results.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_harness_failures_still_write_a_result_and_exit_70(tmp_path):
    root = tmp_path / "grade"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "submission.py").write_text(GOOD_ADD)
    proc = run_grade("--root", str(root), "--quiet")
    assert proc.returncode == 70
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["status"] == "error" and result["message"].startswith("harness error")
    assert proc.stdout == ""


def test_container_mode_requires_root_and_the_process_mode_reports_it(monkeypatch):
    from gradelib import isolation

    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    with pytest.raises(isolation.IsolationError, match="isolation required"):
        isolation.candidate_identity("require")
    identity = isolation.candidate_identity("auto")
    assert not identity.isolated and "not isolated" in identity.note


# The container's capability set: root with only CAP_SETUID and CAP_SETGID, no-new-privileges.
CONTAINER_CAPS = ["setpriv", "--bounding-set", "-all,+setuid,+setgid", "--no-new-privs"]


def test_grades_with_only_the_container_capabilities(grade_base):
    root = make_root(grade_base, GOOD_ADD)
    proc = subprocess.run(
        [*CONTAINER_CAPS, sys.executable, str(HARNESS / "grade.py"), "--root", str(root), "--isolation", "require"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=grade_base,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["status"] == "passed"
    assert stat.S_IMODE((root / "tests" / "cases.py").stat().st_mode) == 0o600


def test_hidden_files_not_owned_by_root_are_a_harness_error_not_a_leak(grade_base):
    root = make_root(grade_base, GOOD_ADD)
    os.chown(root / "tests" / "cases.py", *candidate_ids())  # as if the backend had copied it in with the wrong owner
    proc = subprocess.run(
        [*CONTAINER_CAPS, sys.executable, str(HARNESS / "grade.py"), "--root", str(root), "--quiet"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=grade_base,
    )
    assert proc.returncode == 70
    message = json.loads((root / "results" / "results.json").read_text())["message"]
    assert "cannot make" in message and "uid 0" in message


def test_timeouts_kill_the_candidate_with_only_the_container_capabilities(grade_base):
    # Root without CAP_KILL cannot signal the candidate directly; the harness does it as the candidate user.
    root = make_root(grade_base, GOOD_ADD.replace("    return out", "    while True:\n        pass"), call_seconds=3)
    proc = subprocess.run(
        [*CONTAINER_CAPS, sys.executable, str(HARNESS / "grade.py"), "--root", str(root), "--quiet"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=grade_base,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((root / "results" / "results.json").read_text())["status"] == "timeout"
    assert candidate_pids() == []
