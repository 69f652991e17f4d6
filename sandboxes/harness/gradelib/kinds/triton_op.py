"""The `triton_op` kind (L1): the submission defines one function computed with Triton kernels; each hidden
case calls it on checker-generated inputs and compares the output with a float64 reference."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from .. import channel, timing
from ..context import GradeContext
from ..isolation import make_scratch, remove_scratch
from ..messages import Message, from_channel, msg, parts_of, text_of
from ..results import ERROR, FAILED, PASSED, REJECTED, TIMEOUT, GradeResult, TestResult, score_of
from ..runtime import RuntimeConfigError
from ..session import CandidateProcess
from ..static_scan import SubmissionSyntaxError, scan
from ..triton_cases import Case, compare, device_args, encode_args
from . import register

MAX_SOURCE_BYTES = 256 << 10
DEFAULT_CALL_SECONDS = 60.0
# GPU runtime: device-time budget for timing each side (candidate, torch reference) of one passing test.
TIMING_SECONDS = 2.0


class _Stop(Exception):
    """Grading ends early with this status and message (one or more messages, or message dicts)."""

    def __init__(self, status: str, *parts: Message | dict):
        self.parts = parts_of(*parts)
        self.message = text_of(self.parts)
        super().__init__(self.message)
        self.status = status


def _result(status: str, score: float, *parts, tests=(), stdout: str = "", stderr: str = "") -> GradeResult:
    found = parts_of(*parts)
    return GradeResult(status, score, tuple(tests), text_of(found), stdout, stderr, found or None)


def _test(name: str, passed: bool, *parts, timing: dict | None = None, compute_s: float | None = None) -> TestResult:
    found = parts_of(*parts)
    return TestResult(name, passed, 1.0 if passed else 0.0, text_of(found), timing, found or None, compute_s)


@register("triton_op")
class TritonOpKind:
    takes_warm_candidate = True  # its candidate is run_candidate.py, which a pooled container starts warm

    def grade(self, ctx: GradeContext) -> GradeResult:
        spec = ctx.spec
        submission = ctx.layout.submission_file()
        raw = submission.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return _result(REJECTED, 0.0, msg("grade.too_large", kb=MAX_SOURCE_BYTES // 1024))
        source = raw.decode("utf-8", errors="replace")
        if ctx.static_scan:
            try:
                violations = scan(source, spec.ENTRY, filename=submission.name)
            except SubmissionSyntaxError as exc:
                return _result(ERROR, 0.0, msg("grade.syntax", error=str(exc)))
            if violations:
                listed = [v.message for v in violations[:20]]
                return _result(REJECTED, 0.0, msg("scan.rules_broken", violations=listed))

        gen = torch.Generator().manual_seed(ctx.seed)
        cases: list[Case] = list(spec.cases(gen))
        call_seconds = float(getattr(spec, "CALL_SECONDS", DEFAULT_CALL_SECONDS))

        warm = ctx.warm.take("run_candidate.py") if ctx.warm is not None else None
        scratch = warm.scratch if warm is not None else make_scratch(ctx.scratch_base, ctx.identity)
        # The file imported is the file scanned: a root-owned, read-only copy outside the candidate's scratch.
        code_dir = Path(tempfile.mkdtemp(prefix="submission-", dir=ctx.scratch_base))
        os.chmod(code_dir, 0o755)  # noqa: S103 - the candidate must read it; it cannot write it
        target = code_dir / "submission.py"
        target.write_bytes(raw)
        os.chmod(target, 0o444)
        functions = tuple(getattr(spec, "FUNCTIONS", ()))
        proc = warm or CandidateProcess(
            submission=target,
            entry=spec.ENTRY,
            scratch=scratch,
            identity=ctx.identity,
            limits=ctx.limits,
            runtime=ctx.runtime,
            functions=functions,
        )
        results: list[TestResult] = []
        stop: _Stop | None = None
        try:
            if warm is not None:
                proc.load(target, spec.ENTRY, functions, ctx.limits)
            else:
                proc.start()
            try:
                self._wait_ready(proc, ctx)
                for case in cases:
                    results.append(self._run_case(proc, case, ctx, call_seconds))
            except _Stop as exc:
                stop = exc
            graceful = stop is None
            outcome = proc.stop(graceful=graceful)
        finally:
            if proc.proc is not None and proc.proc.poll() is None:
                proc.stop(graceful=False)
            remove_scratch(scratch, ctx.identity)
            shutil.rmtree(code_dir, ignore_errors=True)

        for case in cases[len(results) :]:
            results.append(_test(case.name, False, msg("grade.not_run"), compute_s=case.reference_s))
        tests = tuple(results)
        if outcome.flooded and (stop is None or stop.status != REJECTED):
            stop = _Stop(ERROR, msg("grade.flood", kb=ctx.limits.output_kb))
        if stop is None and outcome.leftover:
            stop = _Stop(REJECTED, msg("grade.leftover", count=outcome.leftover))
        if stop is not None:
            score = 0.0 if stop.status == REJECTED else score_of(tests)
            return _result(stop.status, score, *stop.parts, tests=tests, stdout=proc.stdout, stderr=proc.stderr)
        score = score_of(tests)
        passed = all(t.passed for t in tests)
        summary = (
            msg("grade.all_passed", total=len(tests))
            if passed
            else msg("grade.some_passed", passed=sum(t.passed for t in tests), total=len(tests))
        )
        return _result(
            PASSED if passed else FAILED, score, summary, tests=tests, stdout=proc.stdout, stderr=proc.stderr
        )

    # -- steps -----------------------------------------------------------------------------------------------
    def _receive(self, proc: CandidateProcess, header, blobs, deadline: float, what: str | Message):
        return receive(proc, header, blobs, deadline, what)

    def _wait_ready(self, proc: CandidateProcess, ctx: GradeContext) -> None:
        header, _ = self._receive(proc, None, (), ctx.deadline, msg("phase.import"))
        if header.get("type") == "unavailable":  # sent before the submission is imported: not its doing
            raise RuntimeConfigError(f"the candidate process cannot use the GPU: {header.get('error')}")
        if header.get("violations"):
            raise _Stop(REJECTED, *from_channel(header["violations"]))
        if header.get("type") == "import_error":
            raise _Stop(ERROR, msg("grade.import_error", error=str(header.get("error"))))
        if header.get("type") != "ready":
            raise _Stop(ERROR, msg("grade.protocol", what=msg("phase.import")))

    def _exchange(self, proc: CandidateProcess, header: dict, blobs, case, ctx: GradeContext, call_seconds: float):
        """One call of a case: the reply and the returned buffers, after the checks that stop grading (rule
        breaks, modified inputs, resource limits)."""
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        what = msg("where.test", name=repr(case.name))
        reply, out_blobs = self._receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "result":
            raise _Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("violations"):
            raise _Stop(REJECTED, *(_in(case, v) for v in from_channel(reply["violations"])))
        returned = out_blobs[: len(blobs)]
        if len(returned) != len(blobs) or any(a != b for a, b in zip(returned, blobs, strict=True)):
            raise _Stop(REJECTED, _in(case, msg("rule.modified_input")))
        if reply.get("error") and reply.get("resource"):
            raise _Stop(ERROR, _in(case, msg("grade.resource", error=str(reply["error"]))))
        return reply, out_blobs

    def _run_case(self, proc: CandidateProcess, case: Case, ctx: GradeContext, call_seconds: float) -> TestResult:
        """One test, with its compute time: the candidate's call as it measured it plus the reference."""
        calls: list[float] = []
        result = self._run_case_calls(proc, case, ctx, call_seconds, calls)
        return dataclasses.replace(result, compute_s=case.reference_s + sum(calls))

    def _run_case_calls(self, proc, case: Case, ctx: GradeContext, call_seconds: float, calls: list) -> TestResult:
        header, blobs = encode_args(case)
        reply, out_blobs = self._exchange(proc, header, blobs, case, ctx, call_seconds)
        calls.append(_seconds(reply.get("elapsed")))
        what = msg("where.test", name=repr(case.name))
        if reply.get("error"):
            return self._raised(case, reply)
        if reply.get("output_problem"):
            return _test(case.name, False, *from_channel([reply["output_problem"]]))
        if reply.get("shares_input"):
            raise _Stop(REJECTED, _in(case, msg("rule.returned_input")))
        if case.require_launch and not reply.get("launches"):
            # An honest bug (a size path that forgot its kernel) as much as a shortcut: this case fails, the
            # others keep their credit.
            return _test(case.name, False, msg("test.no_launch"))
        meta = reply.get("output") or {}
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise _Stop(ERROR, msg("grade.protocol", what=f"{_plain(what)}: {exc}")) from None
        passed, message = self._judge(out, case, reply)
        if passed and reply.get("canary_damage"):
            passed, message = False, msg("test.canary", count=int(reply["canary_damage"]))
        elapsed = msg("test.elapsed", seconds=f"{float(reply.get('elapsed') or 0.0):.2f}")
        parts: list[Message] = [message, elapsed]
        record = None
        if passed and ctx.runtime.timing and case.require_launch:
            passed, note, record = self._time_case(proc, case, ctx, call_seconds)
            parts = [*parts, note] if passed else [note]
        elif not passed and _may_be_tf32(case, ctx) and getattr(message, "code", None) == "test.mismatch":
            parts.append(msg("test.tf32_hint"))
        return _test(case.name, passed, *parts, timing=record)

    # Hooks for kinds built on this one (chip_profile): the verdict on an output, and on a raised exception.
    def _judge(self, out, case: Case, reply: dict):
        return compare(out, case)

    def _raised(self, case: Case, reply: dict) -> TestResult:
        return _test(case.name, False, msg("test.raised", error=str(reply["error"])))

    # -- GPU runtime: timing ---------------------------------------------------------------------------------
    def _time_case(self, proc: CandidateProcess, case: Case, ctx: GradeContext, call_seconds: float):
        """Time a test that passed: fresh copies of its inputs, the candidate's repetitions re-checked (inputs
        untouched, a kernel launched by every call, the last output still right), then the torch reference.
        Returns (passed, message, timing record)."""
        if ctx.remaining() < 4 * TIMING_SECONDS:
            return True, msg("test.timing_skipped"), None
        header, blobs = encode_args(case)
        header["type"], header["budget_s"] = "time", TIMING_SECONDS
        what = msg("where.timing", name=repr(case.name))
        deadline = min(ctx.deadline, time.monotonic() + TIMING_SECONDS + 2 * call_seconds)
        reply, out_blobs = self._receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "timing":
            raise _Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("violations"):
            raise _Stop(
                REJECTED, *(msg("grade.in_test", where=what, detail=v) for v in from_channel(reply["violations"]))
            )
        returned = out_blobs[: len(blobs)]
        if len(returned) != len(blobs) or any(a != b for a, b in zip(returned, blobs, strict=True)):
            raise _Stop(REJECTED, msg("grade.in_test", where=what, detail=msg("rule.modified_input")))
        if reply.get("error"):
            return False, msg("test.timing_raised", error=str(reply["error"])), None
        if reply.get("idle_calls"):
            cached = msg("rule.cached_result", idle=reply["idle_calls"], calls=reply.get("calls"))
            raise _Stop(REJECTED, msg("grade.in_test", where=what, detail=cached))
        meta = reply.get("output")
        if not meta:
            return False, msg("test.timing_no_tensor"), None
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
            samples = timing.validate_samples(reply.get("samples"))
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise _Stop(ERROR, msg("grade.protocol", what=f"{_plain(what)}: {exc}")) from None
        ok, message = compare(out, case)
        if not ok:
            return False, msg("test.timing_wrong", detail=message), None
        record = timing.timing_record(samples, self._time_reference(case))
        return True, msg("test.timing", text=timing.describe(record)), record

    def _time_reference(self, case: Case) -> list[float] | None:
        """The torch reference in the tested dtype on the GPU, timed by the checker with the same loop."""
        if case.reference is None:
            return None
        try:
            if getattr(self, "_clock", None) is None:
                self._clock = timing.CudaClock()
            args, kwargs = device_args(case, "cuda")
            with torch.no_grad(), timing.passthrough_mode():
                return timing.measure(lambda: case.reference(*args, **kwargs), self._clock, budget_s=TIMING_SECONDS)
        except Exception as exc:  # a reference that cannot run in this dtype on the GPU: no baseline, no speedup
            print(f"torch reference of {case.name!r} not timed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None


def receive(proc: CandidateProcess, header, blobs, deadline: float, what: str | Message):
    """One request to the candidate process and its reply; a timeout, a death or a broken protocol ends the grade
    with the step (`what`) named. Every kind talks to its candidate through this."""
    try:
        return proc.request(header, blobs, deadline)
    except channel.ChannelTimeout:
        raise _Stop(TIMEOUT, msg("grade.time_limit", what=what)) from None
    except channel.ChannelClosed:
        try:
            code = proc.proc.wait(timeout=10)
        except Exception:
            code = None
        if proc.flooded:
            raise _Stop(ERROR, msg("grade.flood", kb=proc.limits.output_kb)) from None
        raise _Stop(ERROR, msg("grade.died", what=what, reason=_exit_reason(code))) from None
    except channel.ProtocolError as exc:
        raise _Stop(ERROR, msg("grade.protocol", what=f"{_plain(what)}: {exc}")) from None


def _seconds(value) -> float:
    """A duration the candidate process reported: a finite non-negative number, else 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        return 0.0
    return float(value)


def _in(case: Case, detail) -> Message:
    """A rule broken in one test, with the test named."""
    return msg("grade.in_test", where=msg("where.test", name=repr(case.name)), detail=detail)


def _plain(what) -> str:
    return what.text if isinstance(what, Message) else str(what)


def _may_be_tf32(case: Case, ctx: GradeContext) -> bool:
    """An fp32 mismatch on the GPU where the task grades dots as IEEE: worth telling the candidate about TF32."""
    return not ctx.runtime.interpreted and case.dtype == torch.float32 and case.dot_precision == "ieee"


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        import signal

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
