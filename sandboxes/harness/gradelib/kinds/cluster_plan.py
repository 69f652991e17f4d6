"""The `cluster_plan` kind (L3): the submission is plain, untrusted Python defining one planning function. Each
hidden case sends it JSON inputs (a cluster, a model, a workload, ...) and scores the JSON plan it returns with the
task's own checker (tests/cases.py: a cost model and a simulator that live only on the checker's side).

cases.py defines KIND = "cluster_plan", ENTRY, optional CALL_SECONDS, and `cases(seed: int)` returning objects
with `name`, `args` (a list of JSON values) and `check(output) -> (score in [0, 1], passed, message)`. The message
is a message dict of gradelib/messages.py (`{"code", "args"}`) or a list of them, so the candidate reads it in
their language; a plain string is shown as it is, in English.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from ..context import GradeContext
from ..isolation import make_scratch, remove_scratch
from ..messages import Message, msg, parts_of, text_of, valid
from ..results import ERROR, FAILED, PASSED, REJECTED, GradeResult, TestResult, score_of
from ..session import CandidateProcess
from . import register
from .triton_op import _result, _Stop, receive  # one way to talk to the candidate and end a grade

MAX_SOURCE_BYTES = 256 << 10
DEFAULT_CALL_SECONDS = 20.0


def _test(name: str, passed: bool, score: float, *parts, compute_s: float | None = None) -> TestResult:
    found = parts_of(*parts)
    return TestResult(name, passed, score, text_of(found), parts=found or None, compute_s=compute_s)


def _checker_parts(message) -> list[dict] | None:
    """The checker's message as message dicts, or None when it is plain text (or not a well-formed message)."""
    items = message if isinstance(message, list) else [message]
    if items and all(isinstance(i, (dict, Message)) for i in items):
        found = list(parts_of(*items))
        if valid(found):
            return found
    return None


@register("cluster_plan")
class ClusterPlanKind:
    def grade(self, ctx: GradeContext) -> GradeResult:
        spec = ctx.spec
        submission = ctx.layout.submission_file()
        raw = submission.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return _result(REJECTED, 0.0, msg("grade.too_large", kb=MAX_SOURCE_BYTES // 1024))
        try:
            compile(raw.decode("utf-8", errors="replace"), submission.name, "exec")
        except SyntaxError as exc:
            return _result(ERROR, 0.0, msg("grade.syntax", error=f"line {exc.lineno}: {exc.msg}"))
        cases = list(spec.cases(ctx.seed))
        call_seconds = float(getattr(spec, "CALL_SECONDS", DEFAULT_CALL_SECONDS))

        scratch = make_scratch(ctx.scratch_base, ctx.identity)
        code_dir = Path(tempfile.mkdtemp(prefix="submission-", dir=ctx.scratch_base))
        os.chmod(code_dir, 0o755)  # noqa: S103 - the candidate must read it; it cannot write it
        target = code_dir / "submission.py"
        target.write_bytes(raw)
        os.chmod(target, 0o444)
        proc = CandidateProcess(
            submission=target,
            entry=spec.ENTRY,
            scratch=scratch,
            identity=ctx.identity,
            limits=ctx.limits,
            runtime=ctx.runtime,
            runner="run_plan_candidate.py",
        )
        results: list[TestResult] = []
        stop: _Stop | None = None
        try:
            proc.start()
            try:
                self._wait_ready(proc, ctx)
                for case in cases:
                    results.append(self._run_case(proc, case, ctx, call_seconds))
            except _Stop as exc:
                stop = exc
            outcome = proc.stop(graceful=stop is None)
        finally:
            if proc.proc is not None and proc.proc.poll() is None:
                proc.stop(graceful=False)
            remove_scratch(scratch, ctx.identity)
            shutil.rmtree(code_dir, ignore_errors=True)

        for case in cases[len(results) :]:
            results.append(_test(case.name, False, 0.0, msg("grade.not_run")))
        tests = tuple(results)
        if outcome.flooded and (stop is None or stop.status != REJECTED):
            stop = _Stop(ERROR, msg("grade.flood", kb=ctx.limits.output_kb))
        if stop is None and outcome.leftover:
            stop = _Stop(REJECTED, msg("grade.leftover", count=outcome.leftover))
        out = {"tests": tests, "stdout": proc.stdout, "stderr": proc.stderr}
        if stop is not None:
            return _result(stop.status, 0.0 if stop.status == REJECTED else score_of(tests), *stop.parts, **out)
        if all(t.passed for t in tests):
            return _result(PASSED, score_of(tests), msg("grade.all_passed", total=len(tests)), **out)
        summary = msg("grade.some_passed", passed=sum(t.passed for t in tests), total=len(tests))
        return _result(FAILED, score_of(tests), summary, msg("grade.score", score=f"{score_of(tests):.3f}"), **out)

    def _receive(self, proc: CandidateProcess, header, deadline: float, what: Message):
        return receive(proc, header, (), deadline, what)

    def _wait_ready(self, proc: CandidateProcess, ctx: GradeContext) -> None:
        header, _ = self._receive(proc, None, ctx.deadline, msg("phase.import"))
        if header.get("type") == "import_error":
            raise _Stop(ERROR, msg("grade.import_error", error=str(header.get("error"))))
        if header.get("type") != "ready":
            raise _Stop(ERROR, msg("grade.protocol", what=msg("phase.import")))

    def _run_case(self, proc: CandidateProcess, case, ctx: GradeContext, call_seconds: float) -> TestResult:
        what = msg("where.test", name=repr(case.name))
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        reply, _ = self._receive(proc, {"type": "call", "args": list(case.args)}, deadline, what)
        if reply.get("type") != "result":
            raise _Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("error"):
            if reply.get("resource"):
                raise _Stop(ERROR, msg("grade.in_test", where=what, detail=msg("grade.resource", error=reply["error"])))
            return _test(case.name, False, 0.0, msg("test.raised", error=str(reply["error"])))
        if reply.get("output_problem"):
            return _test(case.name, False, 0.0, msg("plan.not_json", error=str(reply["output_problem"])[:500]))
        try:
            score, passed, message = case.check(reply.get("output"))
        except Exception as exc:  # the checker must survive any shape of candidate output
            score, passed, message = 0.0, False, msg("plan.check_failed", error=f"{type(exc).__name__}: {exc}")
        score = min(1.0, max(0.0, float(score)))
        seconds = max(0.0, float(reply.get("elapsed") or 0.0))
        elapsed = msg("test.elapsed", seconds=f"{seconds:.2f}")
        parts = _checker_parts(message)
        if parts is None:  # a checker that words its message itself: English only
            return TestResult(case.name, bool(passed), score, f"{message}; {elapsed.text}", compute_s=seconds)
        return _test(case.name, bool(passed), score, *parts, elapsed, compute_s=seconds)
