"""The `chip_profile` kind (L2): a triton_op task written for a chip capability profile.

Everything of `triton_op` applies (static scan, torch-compute ban, read-only inputs, canaries, fp64
references). In addition every call receives `profile=` (a chipprofile.ChipProfile, public or hidden), every
launch of the call is checked against it (gradelib/chips.py), the submission may import the public
`chipprofile` module, and it may not read a profile's name except to print it.

A task may name other functions of the submission in `FUNCTIONS` (a config function beside the entry): they must
be defined at top level, and its cases may call them and judge the plain data they return
(gradelib/data_cases.py), alone or as the companion of a launching case. A case may also call the entry for a
forward function and judge the output and named intermediate tensors that forward returns
(gradelib/forward_cases.py, migrate_block).

Every verdict (the launch check, the judges of a task's cases) is a message of gradelib/messages.py, so the
candidate reads it in their language; a judge that returns a plain string is shown as it is, in English.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from .. import channel
from ..candidate_grade import Stop, plain
from ..chips import check_log, judge_output
from ..data_cases import Call, DataCase
from ..forward_cases import ForwardCase
from ..messages import Message, from_channel, msg
from ..results import ERROR, REJECTED, GradeResult, TestResult, case_result, grade_result
from ..static_scan import SubmissionSyntaxError, scan
from ..triton_cases import encode_call
from . import register
from .triton_op import TritonOpKind

# Public modules of the image a submission may import: the profile type and migrate_block's tiny Llama block.
PUBLIC_MODULES = ("chipprofile", "tinyblock")


def profile_violations(source: str) -> tuple[set[int], list[Message]]:
    """(lines importing the public profile module, rule breaks of this kind: reading `.name`)."""
    tree = ast.parse(source)
    import_lines: set[int] = set()
    problems: list[Message] = []
    printed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            printed.update(id(n) for arg in node.args for n in ast.walk(arg))
    for node in ast.walk(tree):
        if _imports_public_module(node):
            import_lines.add(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "name" and id(node) not in printed:
            problems.append(msg("scan.line", line=node.lineno, reason=msg("chip.reads_name")))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_chip(node.value):
            problems.append(msg("scan.line", line=node.lineno, reason=msg("chip.names_chip", text=repr(node.value))))
    return import_lines, problems


def missing_functions(source: str, names) -> list[Message]:
    """The task's other functions (FUNCTIONS) the source does not define at top level, as scan messages."""
    defined = {n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing = [name for name in names if name not in defined]
    return [msg("scan.line", line=1, reason=msg("scan.no_entry", entry=repr(name))) for name in missing]


def _imports_public_module(node) -> bool:
    if isinstance(node, ast.Import):
        return all(a.name in PUBLIC_MODULES for a in node.names)
    return isinstance(node, ast.ImportFrom) and node.module in PUBLIC_MODULES and not node.level


def _names_a_chip(text: str) -> bool:
    from chipprofile import PUBLIC_PROFILES

    return text.strip().lower() in PUBLIC_PROFILES


@register("chip_profile")
class ChipProfileKind(TritonOpKind):
    def _refuse(self, ctx, filename: str, raw: bytes) -> GradeResult | None:
        """triton_op's scan, with this kind's import allowance and rules."""
        if not ctx.static_scan:
            return None
        source = raw.decode("utf-8", errors="replace")
        try:
            import_lines, problems = profile_violations(source)
            violations = [
                v.message
                for v in scan(source, ctx.spec.ENTRY, filename="submission.py")
                if not (v.line in import_lines and "import" in v.reason)
            ]
        except (SubmissionSyntaxError, SyntaxError) as exc:
            return grade_result(ERROR, 0.0, msg("grade.syntax", error=str(exc)))
        violations += problems + missing_functions(source, getattr(ctx.spec, "FUNCTIONS", ()))
        if violations:
            return grade_result(REJECTED, 0.0, msg("scan.rules_broken", violations=violations[:20]))
        return None

    def _run_case(self, proc, case, ctx, call_seconds: float) -> TestResult:
        if isinstance(case, ForwardCase):
            return self._run_forward(proc, case, ctx, call_seconds)
        if isinstance(case, DataCase):
            values = []
            for call in case.calls:
                value, problem = self._call_for_data(proc, call, case, ctx, call_seconds)
                if problem:
                    return case_result(case.name, False, problem)
                values.append(value)
            passed, message = case.judge(values)
            return case_result(case.name, passed, _part(message))
        if getattr(case, "companion", None) is not None:
            value, problem = self._call_for_data(proc, case.companion, case, ctx, call_seconds)
            if problem:
                return case_result(case.name, False, problem)
            case = replace(case, extra={**case.extra, "companion_value": value})
        return super()._run_case(proc, case, ctx, call_seconds)

    def _run_forward(self, proc, case: ForwardCase, ctx, call_seconds: float) -> TestResult:
        """entry(*args) returns a forward; forward(*apply) returns (output, taps), judged with the launches."""
        header, blobs = encode_call(case.args, case.kwargs, apply=case.apply)
        header["returns"] = "taps"
        reply, out_blobs = self._exchange(proc, header, blobs, case, ctx, call_seconds)
        failed = self._reply_failure(case, reply)
        if failed is not None:
            return failed
        problem = check_log(reply.get("launch_log"), case.profile, case.footprint, case.tiles)
        if problem:
            return case_result(case.name, False, problem)
        try:
            out = _tensor(out_blobs, reply.get("output") or {})
            taps = {str(name): _tensor(out_blobs, meta) for name, meta in (reply.get("taps") or {}).items()}
        except (KeyError, IndexError, ValueError, TypeError, AttributeError, channel.ProtocolError) as exc:
            what = msg("where.test", name=repr(case.name))
            raise Stop(ERROR, msg("grade.protocol", what=f"{plain(what)}: {exc}")) from None
        if reply.get("canary_damage"):
            return case_result(case.name, False, msg("test.canary", count=int(reply["canary_damage"])))
        passed, message = case.judge(out, taps)
        elapsed = msg("test.elapsed", seconds=f"{float(reply.get('elapsed') or 0.0):.2f}")
        return case_result(case.name, passed, _part(message), elapsed)

    def _call_for_data(self, proc, call: Call, case, ctx, call_seconds: float):
        """(the plain data `call` returned, None) or (None, why the case fails); rule breaks stop grading."""
        header, blobs = encode_call(call.args, call.kwargs)
        header.update(function=call.function, returns="data")
        reply, _ = self._exchange(proc, header, blobs, case, ctx, call_seconds)
        if reply.get("error"):
            return None, msg("chip.call_raised", call=call.describe(), error=str(reply["error"]))
        if reply.get("output_problem"):
            detail = from_channel([reply["output_problem"]])[0]
            return None, msg("chip.call_output", call=call.describe(), detail=detail)
        return reply.get("value"), None

    def _judge(self, out, case, reply: dict) -> tuple[bool, Message | dict]:
        # A launch the chip could not run fails the case first, whatever the interpreter computed.
        log = reply.get("launch_log")
        problem = check_log(log, case.profile, case.footprint, case.tiles)
        if problem is None and case.judge_launches is not None:
            problem = case.judge_launches(log or {}, case.extra.get("companion_value"))
        if problem:
            return False, _part(problem)
        passed, message = judge_output(out, case)
        return passed, _part(message)

    def _raised(self, case, reply: dict) -> TestResult:
        error = str(reply.get("error") or "")
        expected = getattr(case, "expect_error", None)
        if expected and error.startswith(f"{expected}:"):
            problem = check_log(reply.get("launch_log"), case.profile, case.footprint, case.tiles)
            if problem:
                return case_result(case.name, False, problem)
            return case_result(case.name, True, msg("chip.raised_as_required", error=expected))
        if expected:
            return case_result(case.name, False, msg("chip.raised_other", expected=expected, error=error))
        return super()._raised(case, reply)


def _part(message) -> Message | dict:
    """A judge's verdict as a message; a task's plain-text verdict is shown as it is (in English)."""
    if isinstance(message, (Message, dict)):
        return message
    return msg("plan.detail", detail=str(message))


def _tensor(out_blobs, meta: dict):
    return channel.tensor_from_bytes(out_blobs[int(meta["blob"])], meta["dtype"], meta["shape"])
