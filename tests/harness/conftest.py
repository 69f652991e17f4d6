"""Fixtures for the grading harness tests: the harness on sys.path, the candidate user, and graders for
sources."""

from __future__ import annotations

import os
import pwd
import shutil
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from tests import candidate_account

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "sandboxes" / "harness"
EXAM = REPO / "exams" / "l1-operator-dev"
TASKS = ("vector_add", "gelu", "softmax", "rms_norm", "matmul")

os.environ["TRITON_INTERPRET"] = "1"  # the checker half of the harness runs inside pytest
sys.path.insert(0, str(HARNESS))

from gradelib import checker, kinds, warm  # noqa: E402
from gradelib.context import WarmSlot  # noqa: E402
from gradelib.layout import Layout  # noqa: E402
from gradelib.limits import Limits  # noqa: E402

kinds.load_builtin()

# A small vector_add task for the anti-cheat tests: two cases keep each grade to about the candidate's start-
# up time.
TOY_CASES = """
import torch
from gradelib.triton_cases import describe, make_case, randn

KIND = "triton_op"
ENTRY = "add"
CALL_SECONDS = {call_seconds}


def cases(gen):
    out = []
    for shape, dtype in (((1000,), torch.float32), ((129,), torch.float16)):
        x = randn(shape, dtype, gen)
        y = randn(shape, dtype, gen)
        out.append(make_case(describe(x), lambda a, b: a + b, (x, y)))
    return out
"""

GOOD_ADD = """
import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out_ptr + offs, tl.load(x_ptr + offs, mask=mask) + tl.load(y_ptr + offs, mask=mask), mask=mask)


def add(x, y):
    out = torch.empty_like(x)
    n = out.numel()
    add_kernel[(triton.cdiv(n, 256),)](x, y, out, n, BLOCK=256)
    return out
"""


# The candidate's account: the harness's own (uid 10001), or the one CERTPLATFORM_CANDIDATE_USER names, which
# scripts/test uses so that these tests grade beside the others' without sharing the candidate's process count.
CANDIDATE = candidate_account.name()


def candidate_ids() -> tuple[int, int]:
    """The candidate's uid and gid."""
    entry = pwd.getpwnam(CANDIDATE)
    return entry.pw_uid, entry.pw_gid


@pytest.fixture(scope="session", autouse=True)
def candidate_user():
    """The isolation tests need the real candidate user, able to run this interpreter and the harness."""
    try:
        candidate_account.ensure(CANDIDATE)
        candidate_account.ensure_reachable(CANDIDATE)
    except candidate_account.CandidateAccountError as exc:
        pytest.fail(str(exc))


def make_root(base: Path, source: str, tests_dir: Path | None = None, call_seconds: float = 20) -> Path:
    root = base / "grade"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "submission.py").write_text(textwrap.dedent(source))
    if tests_dir is None:
        (root / "tests").mkdir()
        (root / "tests" / "cases.py").write_text(TOY_CASES.format(call_seconds=call_seconds))
    else:
        shutil.copytree(tests_dir, root / "tests")
    return root


@pytest.fixture
def grade_base():
    """A world-traversable directory for the grading root, so that only the harness's own lock-down stands
    between the candidate and the hidden files (pytest's tmp_path sits in a root-only directory)."""
    base = Path(tempfile.mkdtemp(prefix="harness-test-", dir="/tmp"))
    os.chmod(base, 0o755)  # noqa: S103 - deliberately open: the lock-down under test must do the work
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def grade_source(grade_base, request):
    """grade_source(source, **options) -> GradeResult, graded in-process (pytest is the checker).

    Parametrized indirectly with "warm", the candidate process is started before the submission exists, with
    the limits a pooled container starts it with, and handed its submission and task limits afterwards (as in a
    pooled container); "cold" (the default) starts it for the submission."""
    mode = getattr(request, "param", "cold")

    def run(
        source: str,
        *,
        tests_dir: Path | None = None,
        static_scan: bool = True,
        call_seconds: float = 20,
        isolation: str = "require",
        seed: int = 42,
        **limits,
    ):
        base = {"wall_seconds": 60, "output_kb": 16}
        base.update(limits)
        task_limits = Limits.from_mapping(base)
        slot = None
        if mode == "warm":
            pool_limits = replace(task_limits, wall_seconds=3600, output_kb=64)
            slot = WarmSlot(warm.start_warm(Layout(grade_base / "grade"), pool_limits, (), isolation))
        root = make_root(grade_base, source, tests_dir, call_seconds)
        (root / "seed").write_text(f"{seed}\n")
        try:
            return checker.grade(
                Layout(root), limits=task_limits, isolation=isolation, static_scan=static_scan, warm=slot
            )
        finally:
            if slot is not None:
                slot.discard()

    return run


def candidate_pids() -> list[int]:
    """Processes any grade of these tests started as the candidate (they carry a grade token), still alive."""
    own = str(HARNESS).encode()
    uid, _ = candidate_ids()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            if f"\nUid:\t{uid}\t" not in status or "\nState:\tZ" in status:
                continue
            # Only this checkout's harness: other checkouts on a shared host grade concurrently.
            if (
                b"CERTPLATFORM_GRADE_TOKEN=" in (entry / "environ").read_bytes()
                and own in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
