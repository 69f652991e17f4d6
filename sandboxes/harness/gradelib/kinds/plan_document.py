"""The `plan_document` kind (L3 design document): the submission is Markdown, never executed. The task's checker
(tests/cases.py `check_document(text)`) looks for the required sections and checks the plan and the numbers the
document quotes against the cost model; mentors grade the argument itself."""

from __future__ import annotations

from ..context import GradeContext
from ..messages import msg
from ..results import ERROR, FAILED, PASSED, REJECTED, GradeResult, TestResult, case_result, grade_result, score_of
from . import register
from .cluster_plan import checker_parts

MAX_DOCUMENT_BYTES = 64 << 10


@register("plan_document")
class PlanDocumentKind:
    def grade(self, ctx: GradeContext) -> GradeResult:
        files = sorted(p for p in ctx.layout.submission_dir.iterdir() if p.is_file())
        if len(files) != 1:
            return grade_result(ERROR, 0.0, msg("doc.files", count=len(files)))
        raw = files[0].read_bytes()
        if len(raw) > MAX_DOCUMENT_BYTES:
            return grade_result(REJECTED, 0.0, msg("doc.too_large", kb=MAX_DOCUMENT_BYTES // 1024))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return grade_result(ERROR, 0.0, msg("doc.not_utf8"))
        tests = tuple(
            _check(name, score, passed, message) for name, score, passed, message in ctx.spec.check_document(text)
        )
        score = score_of(tests)
        if all(t.passed for t in tests):
            return grade_result(PASSED, score, msg("doc.all_passed", total=len(tests)), tests=tests)
        summary = msg("doc.some_passed", passed=sum(t.passed for t in tests), total=len(tests))
        return grade_result(FAILED, score, summary, msg("grade.score", score=f"{score:.3f}"), tests=tests)


def _check(name: str, score, passed, message) -> TestResult:
    """One check of the document; its message as codes when the checker gives them, else as plain text."""
    score = min(1.0, max(0.0, float(score)))
    parts = checker_parts(message)
    if parts is None:
        return TestResult(name, bool(passed), score, str(message))
    return case_result(name, bool(passed), *parts, score=score)
