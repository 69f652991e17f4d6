"""The `cluster_plan` kind (L3): the submission is plain, untrusted Python defining one planning function. Each
hidden case sends it JSON inputs (a cluster, a model, a workload, ...) and scores the JSON plan it returns with the
task's own checker (tests/cases.py: a cost model and a simulator that live only on the checker's side).

cases.py defines KIND = "cluster_plan", ENTRY, optional CALL_SECONDS, and `cases(seed: int)` returning objects
with `name`, `args` (a list of JSON values) and `check(output) -> (score in [0, 1], passed, message)`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from .. import channel
from ..context import GradeContext
from ..isolation import make_scratch, remove_scratch
from ..results import ERROR, FAILED, PASSED, REJECTED, TIMEOUT, GradeResult, TestResult, score_of
from ..session import CandidateProcess
from . import register
from .triton_op import _exit_reason

MAX_SOURCE_BYTES = 256 << 10
DEFAULT_CALL_SECONDS = 20.0


class _Stop(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@register("cluster_plan")
class ClusterPlanKind:
    def grade(self, ctx: GradeContext) -> GradeResult:
        spec = ctx.spec
        submission = ctx.layout.submission_file()
        raw = submission.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return GradeResult(REJECTED, 0.0, message=f"submission is larger than {MAX_SOURCE_BYTES // 1024} KB")
        try:
            compile(raw.decode("utf-8", errors="replace"), submission.name, "exec")
        except SyntaxError as exc:
            return GradeResult(ERROR, 0.0, message=f"the submission is not valid Python: line {exc.lineno}: {exc.msg}")
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
            results.append(TestResult(case.name, False, 0.0, "not run: grading stopped earlier"))
        tests = tuple(results)
        if outcome.flooded and (stop is None or stop.status != REJECTED):
            stop = _Stop(ERROR, f"output flood: the submission wrote far more than the {ctx.limits.output_kb} KB kept")
        if stop is None and outcome.leftover:
            stop = _Stop(REJECTED, f"the submission left {outcome.leftover} process(es) running; they were killed")
        if stop is not None:
            score = 0.0 if stop.status == REJECTED else score_of(tests)
            return GradeResult(stop.status, score, tests, stop.message, proc.stdout, proc.stderr)
        passed = all(t.passed for t in tests)
        message = (
            f"all {len(tests)} tests passed"
            if passed
            else f"{sum(t.passed for t in tests)} of {len(tests)} tests passed; score {score_of(tests):.3f}"
        )
        return GradeResult(PASSED if passed else FAILED, score_of(tests), tests, message, proc.stdout, proc.stderr)

    def _receive(self, proc: CandidateProcess, header, deadline: float, what: str):
        try:
            return proc.request(header, (), deadline)
        except channel.ChannelTimeout:
            raise _Stop(TIMEOUT, f"time limit exceeded {what}") from None
        except channel.ChannelClosed:
            try:
                code = proc.proc.wait(timeout=10)
            except Exception:
                code = None
            if proc.flooded:
                raise _Stop(ERROR, "the submission flooded stdout/stderr and was stopped") from None
            raise _Stop(ERROR, f"the candidate process died {what} ({_exit_reason(code)})") from None
        except channel.ProtocolError as exc:
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}: {exc}") from None

    def _wait_ready(self, proc: CandidateProcess, ctx: GradeContext) -> None:
        header, _ = self._receive(proc, None, ctx.deadline, "while importing the submission")
        if header.get("type") == "import_error":
            raise _Stop(ERROR, f"the submission could not be imported: {header.get('error')}")
        if header.get("type") != "ready":
            raise _Stop(ERROR, "the candidate process broke the harness protocol while starting")

    def _run_case(self, proc: CandidateProcess, case, ctx: GradeContext, call_seconds: float) -> TestResult:
        what = f"in test {case.name!r}"
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        reply, _ = self._receive(proc, {"type": "call", "args": list(case.args)}, deadline, what)
        if reply.get("type") != "result":
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}")
        if reply.get("error"):
            if reply.get("resource"):
                raise _Stop(ERROR, f"{what}: resource limit hit: {reply['error']}")
            return TestResult(case.name, False, 0.0, f"raised {reply['error']}")
        if reply.get("output_problem"):
            return TestResult(case.name, False, 0.0, str(reply["output_problem"]))
        try:
            score, passed, message = case.check(reply.get("output"))
        except Exception as exc:  # the checker must survive any shape of candidate output
            score, passed, message = 0.0, False, f"the result could not be checked: {type(exc).__name__}: {exc}"
        score = min(1.0, max(0.0, float(score)))
        elapsed = float(reply.get("elapsed") or 0.0)
        return TestResult(case.name, bool(passed), score, f"{message}; {elapsed:.2f}s", compute_s=max(0.0, elapsed))
