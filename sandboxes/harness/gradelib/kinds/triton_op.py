"""The `triton_op` kind (L1): the submission defines one function computed with Triton kernels; each hidden
case calls it on checker-generated inputs and compares the output with a float64 reference."""

from __future__ import annotations

import dataclasses
import sys
import time

import torch

from .. import channel, timing
from ..candidate_grade import CandidateKind, Stop, plain, receive
from ..context import GradeContext
from ..messages import Message, from_channel, msg
from ..results import ERROR, REJECTED, GradeResult, TestResult, case_result, grade_result
from ..runtime import RuntimeConfigError
from ..session import CandidateProcess
from ..static_scan import SubmissionSyntaxError, scan
from ..triton_cases import Case, compare, device_args, encode_args
from . import register

DEFAULT_CALL_SECONDS = 60.0
# GPU runtime: device-time budget for timing each side (candidate, torch reference) of one passing test.
TIMING_SECONDS = 2.0


@register("triton_op")
class TritonOpKind(CandidateKind):
    takes_warm_candidate = True  # its candidate is run_candidate.py, which a pooled container starts warm

    default_call_seconds = DEFAULT_CALL_SECONDS

    def _refuse(self, ctx: GradeContext, filename: str, raw: bytes) -> GradeResult | None:
        if not ctx.static_scan:
            return None
        source = raw.decode("utf-8", errors="replace")
        try:
            violations = scan(source, ctx.spec.ENTRY, filename=filename)
        except SubmissionSyntaxError as exc:
            return grade_result(ERROR, 0.0, msg("grade.syntax", error=str(exc)))
        if violations:
            listed = [v.message for v in violations[:20]]
            return grade_result(REJECTED, 0.0, msg("scan.rules_broken", violations=listed))
        return None

    def _cases(self, ctx: GradeContext) -> list[Case]:
        return list(ctx.spec.cases(torch.Generator().manual_seed(ctx.seed)))

    # -- steps -----------------------------------------------------------------------------------------------
    def _functions(self, ctx: GradeContext) -> tuple[str, ...]:
        return tuple(getattr(ctx.spec, "FUNCTIONS", ()))

    def _wait_ready(self, proc: CandidateProcess, ctx: GradeContext) -> None:
        header, _ = receive(proc, None, (), ctx.deadline, msg("phase.import"))
        if header.get("type") == "unavailable":  # sent before the submission is imported: not its doing
            raise RuntimeConfigError(f"the candidate process cannot use the GPU: {header.get('error')}")
        if header.get("violations"):
            raise Stop(REJECTED, *from_channel(header["violations"]))
        self._check_ready(header)

    def _not_run(self, case: Case) -> TestResult:
        return case_result(case.name, False, msg("grade.not_run"), compute_s=case.reference_s)

    def _exchange(self, proc: CandidateProcess, header: dict, blobs, case, ctx: GradeContext, call_seconds: float):
        """One call of a case: the reply and the returned buffers, after the checks that stop grading (rule
        breaks, modified inputs, resource limits)."""
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        what = msg("where.test", name=repr(case.name))
        reply, out_blobs = receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "result":
            raise Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("violations"):
            raise Stop(REJECTED, *(in_test(case, v) for v in from_channel(reply["violations"])))
        returned = out_blobs[: len(blobs)]
        if len(returned) != len(blobs) or any(a != b for a, b in zip(returned, blobs, strict=True)):
            raise Stop(REJECTED, in_test(case, msg("rule.modified_input")))
        if reply.get("error") and reply.get("resource"):
            raise Stop(ERROR, in_test(case, msg("grade.resource", error=str(reply["error"]))))
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
        failed = self._reply_failure(case, reply)
        if failed is not None:
            return failed
        meta = reply.get("output") or {}
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise Stop(ERROR, msg("grade.protocol", what=f"{plain(what)}: {exc}")) from None
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
        return case_result(case.name, passed, *parts, timing=record)

    def _reply_failure(self, case, reply: dict) -> TestResult | None:
        """The failed test when the call raised, returned no usable output or launched no kernel; None when its
        output is there to judge. Returning an input stops grading."""
        if reply.get("error"):
            return self._raised(case, reply)
        if reply.get("output_problem"):
            return case_result(case.name, False, *from_channel([reply["output_problem"]]))
        if reply.get("shares_input"):
            raise Stop(REJECTED, in_test(case, msg("rule.returned_input")))
        if case.require_launch and not reply.get("launches"):
            # An honest bug (a size path that forgot its kernel) as much as a shortcut: this case fails, the
            # others keep their credit.
            return case_result(case.name, False, msg("test.no_launch"))
        return None

    # Hooks for kinds built on this one (chip_profile): the verdict on an output, and on a raised exception.
    def _judge(self, out, case: Case, reply: dict):
        return compare(out, case)

    def _raised(self, case: Case, reply: dict) -> TestResult:
        return case_result(case.name, False, msg("test.raised", error=str(reply["error"])))

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
        reply, out_blobs = receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "timing":
            raise Stop(ERROR, msg("grade.protocol", what=what))
        if reply.get("violations"):
            raise Stop(
                REJECTED, *(msg("grade.in_test", where=what, detail=v) for v in from_channel(reply["violations"]))
            )
        returned = out_blobs[: len(blobs)]
        if len(returned) != len(blobs) or any(a != b for a, b in zip(returned, blobs, strict=True)):
            raise Stop(REJECTED, msg("grade.in_test", where=what, detail=msg("rule.modified_input")))
        if reply.get("error"):
            return False, msg("test.timing_raised", error=str(reply["error"])), None
        if reply.get("idle_calls"):
            cached = msg("rule.cached_result", idle=reply["idle_calls"], calls=reply.get("calls"))
            raise Stop(REJECTED, msg("grade.in_test", where=what, detail=cached))
        meta = reply.get("output")
        if not meta:
            return False, msg("test.timing_no_tensor"), None
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
            samples = timing.validate_samples(reply.get("samples"))
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise Stop(ERROR, msg("grade.protocol", what=f"{plain(what)}: {exc}")) from None
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


def _seconds(value) -> float:
    """A duration the candidate process reported: a finite non-negative number, else 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        return 0.0
    return float(value)


def in_test(case: Case, detail) -> Message:
    """A rule broken in one test, with the test named."""
    return msg("grade.in_test", where=msg("where.test", name=repr(case.name)), detail=detail)


def _may_be_tf32(case: Case, ctx: GradeContext) -> bool:
    """An fp32 mismatch on the GPU where the task grades dots as IEEE: worth telling the candidate about TF32."""
    return not ctx.runtime.interpreted and case.dtype == torch.float32 and case.dot_precision == "ieee"
