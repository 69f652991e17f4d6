"""The candidate user the harness and pipeline tests grade as: made where it is missing, and able to run the
grading interpreter and the harness.

The one place that knows how the account is made: scripts/test calls it before the run, for the user of the
own_candidate lane (`python -m tests.candidate_account candidate-tests`), and tests/harness/conftest.py calls it
for whichever user a run of the harness tests grades as.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

# The harness's own account and the variable naming another one (sandboxes/harness/gradelib/isolation.py).
from certplatform.sandbox import candidate_access
from certplatform.sandbox.candidate_access import CANDIDATE_UID, CANDIDATE_USER, USER_VAR

REPO = Path(__file__).resolve().parents[1]
RUN_CANDIDATE = REPO / "sandboxes" / "harness" / "run_candidate.py"


class CandidateAccountError(Exception):
    """The candidate user is missing and cannot be made here, or cannot reach what it must run."""


def name() -> str:
    """The candidate's account: the one CERTPLATFORM_CANDIDATE_USER names, else the harness's own (uid 10001)."""
    return os.environ.get(USER_VAR) or CANDIDATE_USER


def ensure(user: str) -> None:
    """Make `user` unless it exists: the harness's own name with uid 10001, any other as a system account; a group
    of its own, no login shell, and no home directory made (nothing of the candidate's stands in the way of the
    interpreter it runs)."""
    try:
        pwd.getpwnam(user)
        return
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise CandidateAccountError("the harness tests must run as root (they test the privilege drop)")
    uid = ["--uid", str(CANDIDATE_UID)] if user == CANDIDATE_USER else ["--system"]
    subprocess.run(
        ["useradd", "--no-create-home", *uid, "--user-group", "--shell", "/usr/sbin/nologin", user],
        check=True,
    )


def ensure_reachable(user: str, python: str = sys.executable) -> None:
    """The candidate process runs `python` and the harness as `user`: the platform's own access probe
    (candidate_access.check, which the process backend and /healthz use) must find nothing in the way."""
    if os.geteuid() != 0:
        raise CandidateAccountError("the harness tests must run as root (they test the privilege drop)")
    entry = pwd.getpwnam(user)
    problem = candidate_access.check(python, RUN_CANDIDATE, (entry.pw_uid, entry.pw_gid))
    if problem is not None:
        raise CandidateAccountError(
            f"{problem.summary()}; build the test venv from a system python (e.g. /usr/bin/python3 -m venv), "
            f"not one under a private home directory"
        )


def main(argv: list[str]) -> int:
    """python -m tests.candidate_account [USER]: USER (by default the candidate of this environment) exists and
    can run this interpreter and the harness."""
    if len(argv) > 1:
        print(f"usage: {sys.executable} -m tests.candidate_account [USER]", file=sys.stderr)
        return 2
    user = argv[0] if argv else name()
    try:
        ensure(user)
        ensure_reachable(user)
    except (CandidateAccountError, subprocess.CalledProcessError) as exc:
        print(f"candidate user: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
