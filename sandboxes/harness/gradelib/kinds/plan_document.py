"""The `plan_document` kind (L3 design document): the submission is Markdown, never executed. The task's checker
(tests/cases.py `check_document(text)`) looks for the required sections and checks the plan and the numbers the
document quotes against the cost model; mentors grade the argument itself."""

from __future__ import annotations

from ..context import GradeContext
from ..results import ERROR, FAILED, PASSED, REJECTED, GradeResult, TestResult, score_of
from . import register

MAX_DOCUMENT_BYTES = 64 << 10


@register("plan_document")
class PlanDocumentKind:
    def grade(self, ctx: GradeContext) -> GradeResult:
        files = sorted(p for p in ctx.layout.submission_dir.iterdir() if p.is_file())
        if len(files) != 1:
            return GradeResult(ERROR, 0.0, message=f"expected one document, found {len(files)} files")
        raw = files[0].read_bytes()
        if len(raw) > MAX_DOCUMENT_BYTES:
            return GradeResult(REJECTED, 0.0, message=f"the document is larger than {MAX_DOCUMENT_BYTES // 1024} KB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return GradeResult(ERROR, 0.0, message="the document is not UTF-8 text")
        tests = tuple(
            TestResult(name, bool(passed), min(1.0, max(0.0, float(score))), message)
            for name, score, passed, message in ctx.spec.check_document(text)
        )
        passed = all(t.passed for t in tests)
        message = (
            f"all {len(tests)} checks passed; mentors grade the argument"
            if passed
            else f"{sum(t.passed for t in tests)} of {len(tests)} checks passed; score {score_of(tests):.3f}"
        )
        return GradeResult(PASSED if passed else FAILED, score_of(tests), tests, message)
