"""Submissions with chosen code for the integrity report's tests: copies, renamed copies, independent work."""

from __future__ import annotations

import hashlib
import re

from certplatform.extensions import db
from certplatform.models import ExamAttempt, Submission, SubmissionStatus, User
from tests import review_fixtures
from tests.exam_fixtures import source

# A softmax written independently of the reference: three passes instead of the online maximum, other names.
INDEPENDENT_SOFTMAX = """import torch
import triton
import triton.language as tl


@triton.jit
def softmax_kernel(x_ptr, out_ptr, n_cols, x_row_stride, out_row_stride, BLOCK_N: tl.constexpr):
    row = tl.program_id(axis=0)
    base = x_ptr + row * x_row_stride
    best = float("-inf")
    for c0 in range(0, n_cols, BLOCK_N):
        idx = c0 + tl.arange(0, BLOCK_N)
        vals = tl.load(base + idx, mask=idx < n_cols, other=float("-inf")).to(tl.float32)
        best = tl.maximum(best, tl.max(vals, axis=0))
    total = 0.0
    for c0 in range(0, n_cols, BLOCK_N):
        idx = c0 + tl.arange(0, BLOCK_N)
        vals = tl.load(base + idx, mask=idx < n_cols, other=float("-inf")).to(tl.float32)
        total += tl.sum(tl.exp(vals - best), axis=0)
    dst = out_ptr + row * out_row_stride
    for c0 in range(0, n_cols, BLOCK_N):
        idx = c0 + tl.arange(0, BLOCK_N)
        keep = idx < n_cols
        vals = tl.load(base + idx, mask=keep, other=float("-inf")).to(tl.float32)
        tl.store(dst + idx, (tl.exp(vals - best) / total).to(out_ptr.dtype.element_ty), mask=keep)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    BLOCK_N = min(triton.next_power_of_2(max(n_cols, 1)), 4096)
    softmax_kernel[(n_rows,)](x, out, n_cols, x.stride(0), out.stride(0), BLOCK_N=BLOCK_N)
    return out
"""

RENAMES = {"row_max": "peak", "row_sum": "denominator", "m_new": "running_max", "alpha": "rescale", "offs": "lanes"}


def renamed(code: str) -> str:
    """The code with its local names changed and a comment added, as a copier hides a copy."""
    for old, new in RENAMES.items():
        code = re.sub(rf"\b{old}\b", new, code)
    return code.replace("    row = tl.program_id(axis=0)\n", "    row = tl.program_id(axis=0)  # my own kernel\n")


def handed_in(user: User, exam) -> ExamAttempt:
    """An attempt waiting for review with no submission yet (the test submits what it compares)."""
    attempt = review_fixtures.handed_in(user, exam, 0.9)
    db.session.commit()
    return attempt


def submit(attempt: ExamAttempt, task_slug: str, code: str, status=SubmissionStatus.PASSED) -> Submission:
    """A graded submission of `code` for the task `task_slug`."""
    task = next(t for t in attempt.exam.tasks if t.slug == task_slug)
    submission = Submission(
        attempt_id=attempt.id,
        task_id=task.id,
        status=status,
        score=1.0 if status is SubmissionStatus.PASSED else 0.0,
        code=code,
        code_sha256=hashlib.sha256(code.encode()).hexdigest(),
        tests=[],
        message="torch computed the answer" if status is SubmissionStatus.REJECTED else None,
    )
    db.session.add(submission)
    db.session.commit()
    return submission


def solution(task_slug: str) -> str:
    return source(task_slug)


def starter(task_slug: str) -> str:
    return source(task_slug, "starter.py")
