"""The checker's side of a grade whose submission runs in a candidate process (candidate_loop.py is the other
side): write the submission where the candidate can read but not change it, start the process (or hand a warm
one its submission), wait until it has imported the submission, run every case, stop it, and turn what happened
into the GradeResult.

The Triton kinds (kinds/triton_op.py, and chip_profile built on it) and the plain-Python plans
(kinds/cluster_plan.py) share this grade; a kind says what its cases are and how one is run and judged, and may
change the other steps (the hooks of CandidateKind).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

from . import channel
from .context import GradeContext
from .isolation import container_init, make_scratch, remove_scratch
from .messages import Message, msg, parts_of, text_of
from .results import (
    ERROR,
    FAILED,
    PASSED,
    REJECTED,
    TIMEOUT,
    GradeResult,
    TestResult,
    case_result,
    grade_result,
    score_of,
)
from .session import CandidateProcess

MAX_SOURCE_BYTES = 256 << 10


class Stop(Exception):
    """Grading ends early with this status and message (one or more messages, or message dicts)."""

    def __init__(self, status: str, *parts: Message | dict):
        self.parts = parts_of(*parts)
        self.message = text_of(self.parts)
        super().__init__(self.message)
        self.status = status


def receive(proc: CandidateProcess, header, blobs, deadline: float, what: str | Message):
    """One request to the candidate process and its reply; a timeout, a death or a broken protocol ends the grade
    with the step (`what`) named. Every kind talks to its candidate through this."""
    try:
        return proc.request(header, blobs, deadline)
    except channel.ChannelTimeout:
        raise Stop(TIMEOUT, msg("grade.time_limit", what=what)) from None
    except channel.ChannelClosed:
        try:
            code = proc.proc.wait(timeout=10)
        except Exception:
            code = None
        if proc.flooded:
            raise Stop(ERROR, msg("grade.flood", kb=proc.limits.output_kb)) from None
        raise Stop(ERROR, msg("grade.died", what=what, reason=_exit_reason(code))) from None
    except channel.ProtocolError as exc:
        raise Stop(ERROR, msg("grade.protocol", what=f"{plain(what)}: {exc}")) from None


def plain(what) -> str:
    """The English text of a step named as a message or as text."""
    return what.text if isinstance(what, Message) else str(what)


class CandidateKind:
    """A task kind whose submission runs in a candidate process. Subclasses set `default_call_seconds` (a call's
    time limit where the task's cases.py sets no CALL_SECONDS), define `_cases` and `_run_case`, and may set
    `runner` (the candidate's entry script at the top of the harness) and override the other hooks."""

    runner = "run_candidate.py"
    takes_warm_candidate = False  # True: a pooled container's warm process of `runner` may be taken (checker.py)
    default_call_seconds: float

    def grade(self, ctx: GradeContext) -> GradeResult:
        submission = ctx.layout.submission_file()
        raw = submission.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return grade_result(REJECTED, 0.0, msg("grade.too_large", kb=MAX_SOURCE_BYTES // 1024))
        refused = self._refuse(ctx, submission.name, raw)
        if refused is not None:
            return refused
        cases = self._cases(ctx)
        call_seconds = float(getattr(ctx.spec, "CALL_SECONDS", self.default_call_seconds))
        return self._run(ctx, raw, cases, call_seconds)

    def _run(self, ctx: GradeContext, raw: bytes, cases: list, call_seconds: float) -> GradeResult:
        """Run `cases` against the submission `raw` in a candidate process and grade what happened."""
        spec = ctx.spec
        warm = ctx.warm.take(self.runner) if self.takes_warm_candidate and ctx.warm is not None else None
        scratch = warm.scratch if warm is not None else make_scratch(ctx.scratch_base, ctx.identity)
        # The file imported is the file checked: a root-owned, read-only copy outside the candidate's scratch.
        code_dir = Path(tempfile.mkdtemp(prefix="submission-", dir=ctx.scratch_base))
        os.chmod(code_dir, 0o755)  # noqa: S103 - the candidate must read it; it cannot write it
        target = code_dir / "submission.py"
        target.write_bytes(raw)
        os.chmod(target, 0o444)
        functions = self._functions(ctx)
        proc = warm or CandidateProcess(
            submission=target,
            entry=spec.ENTRY,
            scratch=scratch,
            identity=ctx.identity,
            limits=ctx.limits,
            runtime=ctx.runtime,
            runner=self.runner,
            functions=functions,
        )
        results: list[TestResult] = []
        stop: Stop | None = None
        try:
            if warm is not None:
                proc.load(target, spec.ENTRY, functions, ctx.limits)
            else:
                proc.start()
            try:
                self._wait_ready(proc, ctx)
                for case in cases:
                    results.append(self._run_case(proc, case, ctx, call_seconds))
            except Stop as exc:
                stop = exc
            outcome = proc.stop(graceful=stop is None)
        finally:
            if proc.proc is not None and proc.proc.poll() is None:
                proc.stop(graceful=False)
            remove_scratch(scratch, ctx.identity)
            if not container_init():
                shutil.rmtree(code_dir, ignore_errors=True)

        for case in cases[len(results) :]:
            results.append(self._not_run(case))
        tests = tuple(results)
        if outcome.flooded and (stop is None or stop.status != REJECTED):
            stop = Stop(ERROR, msg("grade.flood", kb=ctx.limits.output_kb))
        if stop is None and outcome.leftover:
            stop = Stop(REJECTED, msg("grade.leftover", count=outcome.leftover))
        out = {"tests": tests, "stdout": proc.stdout, "stderr": proc.stderr}
        if stop is not None:
            return grade_result(stop.status, 0.0 if stop.status == REJECTED else score_of(tests), *stop.parts, **out)
        passed = all(t.passed for t in tests)
        return grade_result(PASSED if passed else FAILED, score_of(tests), *self._summary(tests), **out)

    # -- hooks -----------------------------------------------------------------------------------------------
    def _refuse(self, ctx: GradeContext, filename: str, raw: bytes) -> GradeResult | None:
        """The grade of a submission that must not run (a syntax error, a rule broken), or None to run it."""
        return None

    def _cases(self, ctx: GradeContext) -> list:
        """The task's hidden cases for this grade's seed."""
        raise NotImplementedError

    def _functions(self, ctx: GradeContext) -> tuple[str, ...]:
        """The task's functions besides the entry that the candidate process must find."""
        return ()

    def _wait_ready(self, proc: CandidateProcess, ctx: GradeContext) -> None:
        """Until the candidate has imported the submission; a failed import ends the grade."""
        header, _ = receive(proc, None, (), ctx.deadline, msg("phase.import"))
        self._check_ready(header)

    def _check_ready(self, header: dict) -> None:
        if header.get("type") == "import_error":
            raise Stop(ERROR, msg("grade.import_error", error=str(header.get("error"))))
        if header.get("type") != "ready":
            raise Stop(ERROR, msg("grade.protocol", what=msg("phase.import")))

    def _run_case(self, proc: CandidateProcess, case, ctx: GradeContext, call_seconds: float) -> TestResult:
        """One case: its TestResult, or Stop when what the candidate did ends the grade."""
        raise NotImplementedError

    def _not_run(self, case) -> TestResult:
        """The result of a case the grade ended before."""
        return case_result(case.name, False, msg("grade.not_run"))

    def _summary(self, tests: tuple[TestResult, ...]) -> tuple[Message, ...]:
        """The grade's message when no step stopped it."""
        if all(t.passed for t in tests):
            return (msg("grade.all_passed", total=len(tests)),)
        return (msg("grade.some_passed", passed=sum(t.passed for t in tests), total=len(tests)),)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        hints = {
            "SIGKILL": "killed: out of memory or another hard limit",
            "SIGXFSZ": "file size limit exceeded",
            "SIGXCPU": "CPU time limit exceeded",
            "SIGSEGV": "segmentation fault",
        }
        return f"signal {name}" + (f", {hints[name]}" if name in hints else "")
    return f"exit code {code}"
