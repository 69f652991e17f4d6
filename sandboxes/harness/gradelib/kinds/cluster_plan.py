"""The `cluster_plan` kind (L3): the submission is plain, untrusted Python defining one planning function. Each
hidden case sends it JSON inputs (a cluster, a model, a workload, ...) and scores the JSON plan it returns with the
task's own checker (tests/cases.py: a cost model and a simulator that live only on the checker's side).

cases.py defines KIND = "cluster_plan", ENTRY, optional CALL_SECONDS, and `cases(seed: int)` returning objects
with `name`, `args` (a list of JSON values) and `check(output) -> (score in [0, 1], passed, message)`. The message
is a message dict of gradelib/messages.py (`{"code", "args"}`) or a list of them, so the candidate reads it in
their language; a plain string is shown as it is, in English.
"""

from __future__ import annotations

import time

from ..candidate_grade import CandidateKind, Stop, receive
from ..context import GradeContext
from ..messages import Message, msg, parts_of, valid
from ..results import ERROR, GradeResult, TestResult, case_result, grade_result, score_of
from ..session import CandidateProcess
from . import register

DEFAULT_CALL_SECONDS = 20.0


def checker_parts(message) -> list[dict] | None:
    """The checker's message as message dicts, or None when it is plain text (or not a well-formed message)."""
    items = message if isinstance(message, list) else [message]
    if items and all(isinstance(i, (dict, Message)) for i in items):
        found = list(parts_of(*items))
        if valid(found):
            return found
    return None


@register("cluster_plan")
class ClusterPlanKind(CandidateKind):
    runner = "run_plan_candidate.py"

    default_call_seconds = DEFAULT_CALL_SECONDS

    def _refuse(self, ctx: GradeContext, filename: str, raw: bytes) -> GradeResult | None:
        try:
            compile(raw.decode("utf-8", errors="replace"), filename, "exec")
        except SyntaxError as exc:
            return grade_result(ERROR, 0.0, msg("grade.syntax", error=f"line {exc.lineno}: {exc.msg}"))
        return None

    def _cases(self, ctx: GradeContext) -> list:
        return list(ctx.spec.cases(ctx.seed))

    def _summary(self, tests: tuple[TestResult, ...]) -> tuple[Message, ...]:
        summary = super()._summary(tests)
        if all(t.passed for t in tests):
            return summary
        return (*summary, msg("grade.score", score=f"{score_of(tests):.3f}"))

    def _run_case(self, proc: CandidateProcess, case, ctx: GradeContext, call_seconds: float) -> TestResult:
        what = msg("where.test", name=repr(case.name))
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        reply, _ = receive(proc, {"type": "call", "args": list(case.args)}, (), deadline, what)
        if reply.get("type") != "result":
            raise Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("error"):
            if reply.get("resource"):
                raise Stop(ERROR, msg("grade.in_test", where=what, detail=msg("grade.resource", error=reply["error"])))
            return case_result(case.name, False, msg("test.raised", error=str(reply["error"])))
        if reply.get("output_problem"):
            return case_result(case.name, False, msg("plan.not_json", error=str(reply["output_problem"])[:500]))
        try:
            score, passed, message = case.check(reply.get("output"))
        except Exception as exc:  # the checker must survive any shape of candidate output
            score, passed, message = 0.0, False, msg("plan.check_failed", error=f"{type(exc).__name__}: {exc}")
        score = min(1.0, max(0.0, float(score)))
        seconds = max(0.0, float(reply.get("elapsed") or 0.0))
        elapsed = msg("test.elapsed", seconds=f"{seconds:.2f}")
        parts = checker_parts(message)
        if parts is None:
            # Plain text, or not a well-formed message: shown as it is, in English. The L3 tasks' checkers word
            # every verdict as message codes (tests/harness/test_cluster_plan.py asserts it); this keeps a
            # checker that does not gradeable.
            return TestResult(case.name, bool(passed), score, f"{message}; {elapsed.text}", compute_s=seconds)
        return case_result(case.name, bool(passed), *parts, elapsed, score=score, compute_s=seconds)
