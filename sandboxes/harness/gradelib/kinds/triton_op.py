"""The `triton_op` kind (L1): the submission defines one function computed with Triton kernels; each hidden
case calls it on checker-generated inputs and compares the output with a float64 reference."""

from __future__ import annotations

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
TF32_HINT = (
    "; note: fp32 tl.dot is graded as IEEE fp32 on this runtime (TRITON_F32_DEFAULT=ieee), so an explicit "
    "input_precision='tf32' or allow_tf32=True is not accurate enough"
)


class _Stop(Exception):
    """Grading ends early with this status and message."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@register("triton_op")
class TritonOpKind:
    def grade(self, ctx: GradeContext) -> GradeResult:
        spec = ctx.spec
        submission = ctx.layout.submission_file()
        raw = submission.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return GradeResult(REJECTED, 0.0, message=f"submission is larger than {MAX_SOURCE_BYTES // 1024} KB")
        source = raw.decode("utf-8", errors="replace")
        if ctx.static_scan:
            try:
                violations = scan(source, spec.ENTRY, filename=submission.name)
            except SubmissionSyntaxError as exc:
                return GradeResult(ERROR, 0.0, message=f"the submission is not valid Python: {exc}")
            if violations:
                return GradeResult(
                    REJECTED,
                    0.0,
                    message="the submission breaks the exam rules:\n" + "\n".join(str(v) for v in violations[:20]),
                )

        gen = torch.Generator().manual_seed(ctx.seed)
        cases: list[Case] = list(spec.cases(gen))
        call_seconds = float(getattr(spec, "CALL_SECONDS", DEFAULT_CALL_SECONDS))

        scratch = make_scratch(ctx.scratch_base, ctx.identity)
        # The file imported is the file scanned: a root-owned, read-only copy outside the candidate's scratch.
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
            graceful = stop is None
            outcome = proc.stop(graceful=graceful)
        finally:
            if proc.proc is not None and proc.proc.poll() is None:
                proc.stop(graceful=False)
            remove_scratch(scratch, ctx.identity)
            shutil.rmtree(code_dir, ignore_errors=True)

        for case in cases[len(results) :]:
            results.append(TestResult(case.name, False, 0.0, "not run: grading stopped earlier"))
        tests = tuple(results)
        if outcome.flooded and (stop is None or stop.status != REJECTED):
            stop = _Stop(
                ERROR,
                f"output flood: the submission wrote far more to stdout/stderr than the "
                f"{ctx.limits.output_kb} KB kept, and was stopped",
            )
        if stop is None and outcome.leftover:
            stop = _Stop(
                REJECTED,
                f"the submission left {outcome.leftover} process(es) running after it returned; they were killed",
            )
        if stop is not None:
            score = 0.0 if stop.status == REJECTED else score_of(tests)
            return GradeResult(stop.status, score, tests, stop.message, proc.stdout, proc.stderr)
        score = score_of(tests)
        passed = all(t.passed for t in tests)
        message = (
            f"all {len(tests)} tests passed"
            if passed
            else f"{sum(t.passed for t in tests)} of {len(tests)} tests passed"
        )
        return GradeResult(PASSED if passed else FAILED, score, tests, message, proc.stdout, proc.stderr)

    # -- steps -----------------------------------------------------------------------------------------------
    def _receive(self, proc: CandidateProcess, header, blobs, deadline: float, what: str):
        try:
            return proc.request(header, blobs, deadline)
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
        header, _ = self._receive(proc, None, (), ctx.deadline, "while importing the submission")
        if header.get("type") == "unavailable":  # sent before the submission is imported: not its doing
            raise RuntimeConfigError(f"the candidate process cannot use the GPU: {header.get('error')}")
        if header.get("violations"):
            raise _Stop(REJECTED, "; ".join(map(str, header["violations"])))
        if header.get("type") == "import_error":
            raise _Stop(ERROR, f"the submission could not be imported: {header.get('error')}")
        if header.get("type") != "ready":
            raise _Stop(ERROR, "the candidate process broke the harness protocol while starting")

    def _run_case(self, proc: CandidateProcess, case: Case, ctx: GradeContext, call_seconds: float) -> TestResult:
        header, blobs = encode_args(case)
        deadline = min(ctx.deadline, time.monotonic() + call_seconds)
        what = f"in test {case.name!r}"
        reply, out_blobs = self._receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "result":
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}")
        if reply.get("violations"):
            raise _Stop(REJECTED, f"{what}: " + "; ".join(map(str, reply["violations"])))
        sent = blobs
        returned = out_blobs[: len(sent)]
        if len(returned) != len(sent) or any(a != b for a, b in zip(returned, sent, strict=True)):
            raise _Stop(
                REJECTED,
                f"{what}: the submission modified its input tensors (inputs are read-only; allocate a new output)",
            )
        if reply.get("error"):
            if reply.get("resource"):
                raise _Stop(ERROR, f"{what}: resource limit hit: {reply['error']}")
            return self._raised(case, reply)
        if reply.get("output_problem"):
            return TestResult(case.name, False, 0.0, str(reply["output_problem"]))
        if reply.get("shares_input"):
            raise _Stop(
                REJECTED,
                f"{what}: the submission returned an input tensor (or a view of one) "
                "instead of a newly allocated output",
            )
        if case.require_launch and not reply.get("launches"):
            raise _Stop(
                REJECTED,
                f"{what}: no Triton kernel was launched; the result must be computed by a @triton.jit kernel",
            )
        meta = reply.get("output") or {}
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}: {exc}") from None
        passed, message = self._judge(out, case, reply)
        if passed and reply.get("canary_damage"):
            passed, message = (
                False,
                (f"wrote {reply['canary_damage']} bytes outside the output tensor (missing mask on tl.store?)"),
            )
        elapsed = float(reply.get("elapsed") or 0.0)
        message = f"{message}; {elapsed:.2f}s"
        record = None
        if passed and ctx.runtime.timing and case.require_launch:
            passed, note, record = self._time_case(proc, case, ctx, call_seconds)
            message = f"{message}; {note}" if passed else note
        elif not passed and _may_be_tf32(case, ctx) and "differ beyond" in message:
            message += TF32_HINT
        return TestResult(case.name, passed, 1.0 if passed else 0.0, message, record)

    # Hooks for kinds built on this one (chip_profile): the verdict on an output, and on a raised exception.
    def _judge(self, out, case: Case, reply: dict) -> tuple[bool, str]:
        return compare(out, case)

    def _raised(self, case: Case, reply: dict) -> TestResult:
        return TestResult(case.name, False, 0.0, f"raised {reply['error']}")

    # -- GPU runtime: timing ---------------------------------------------------------------------------------
    def _time_case(self, proc: CandidateProcess, case: Case, ctx: GradeContext, call_seconds: float):
        """Time a test that passed: fresh copies of its inputs, the candidate's repetitions re-checked (inputs
        untouched, a kernel launched by every call, the last output still right), then the torch reference.
        Returns (passed, message, timing record)."""
        if ctx.remaining() < 4 * TIMING_SECONDS:
            return True, "timing skipped: too little time left", None
        header, blobs = encode_args(case)
        header["type"], header["budget_s"] = "time", TIMING_SECONDS
        what = f"in test {case.name!r} (timing run)"
        deadline = min(ctx.deadline, time.monotonic() + TIMING_SECONDS + 2 * call_seconds)
        reply, out_blobs = self._receive(proc, header, blobs, deadline, what)
        if reply.get("type") != "timing":
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}")
        if reply.get("violations"):
            raise _Stop(REJECTED, f"{what}: " + "; ".join(map(str, reply["violations"])))
        returned = out_blobs[: len(blobs)]
        if len(returned) != len(blobs) or any(a != b for a, b in zip(returned, blobs, strict=True)):
            raise _Stop(REJECTED, f"{what}: the submission modified its input tensors on a repeated call")
        if reply.get("error"):
            return False, f"raised on a repeated call (timing run): {reply['error']}", None
        if reply.get("idle_calls"):
            raise _Stop(
                REJECTED,
                f"{what}: {reply['idle_calls']} of {reply.get('calls')} repeated calls launched no Triton kernel "
                "(the result must be computed on every call, not cached)",
            )
        meta = reply.get("output")
        if not meta:
            return False, "returned no tensor on a repeated call (timing run)", None
        try:
            out = channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
            samples = timing.validate_samples(reply.get("samples"))
        except (KeyError, IndexError, ValueError, TypeError, channel.ProtocolError) as exc:
            raise _Stop(ERROR, f"the candidate process broke the harness protocol {what}: {exc}") from None
        ok, message = compare(out, case)
        if not ok:
            return False, f"wrong on a repeated call (timing run): {message}", None
        record = timing.timing_record(samples, self._time_reference(case))
        return True, timing.describe(record), record

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
