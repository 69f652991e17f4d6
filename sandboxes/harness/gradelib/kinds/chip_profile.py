"""The `chip_profile` kind (L2): a triton_op task written for a chip capability profile.

Everything of `triton_op` applies (static scan, torch-compute ban, read-only inputs, canaries, fp64
references). In addition every call receives `profile=` (a chipprofile.ChipProfile, public or hidden), every
launch of the call is checked against it (gradelib/chips.py), the submission may import the public
`chipprofile` module, and it may not read a profile's name except to print it.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from ..chips import check_log, judge_output
from ..results import ERROR, REJECTED, GradeResult, TestResult
from ..static_scan import SubmissionSyntaxError, scan
from . import register
from .triton_op import MAX_SOURCE_BYTES, TritonOpKind

PUBLIC_MODULE = "chipprofile"


def profile_violations(source: str) -> tuple[set[int], list[str]]:
    """(lines importing the public profile module, rule breaks of this kind: reading `.name`)."""
    tree = ast.parse(source)
    import_lines: set[int] = set()
    problems: list[str] = []
    printed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            printed.update(id(n) for arg in node.args for n in ast.walk(arg))
    for node in ast.walk(tree):
        if _imports_public_module(node):
            import_lines.add(node.lineno)
        elif isinstance(node, ast.Attribute) and node.attr == "name" and id(node) not in printed:
            problems.append(
                f"line {node.lineno}: reads '.name': choose from the profile's capabilities, never from a "
                "chip's name (hidden profiles have meaningless names); printing it is allowed"
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_chip(node.value):
            problems.append(f"line {node.lineno}: the string {node.value!r} names a chip profile: do not branch on it")
    return import_lines, problems


def _imports_public_module(node) -> bool:
    if isinstance(node, ast.Import):
        return all(a.name == PUBLIC_MODULE for a in node.names)
    return isinstance(node, ast.ImportFrom) and node.module == PUBLIC_MODULE and not node.level


def _names_a_chip(text: str) -> bool:
    from chipprofile import PUBLIC_PROFILES

    return text.strip().lower() in PUBLIC_PROFILES


@register("chip_profile")
class ChipProfileKind(TritonOpKind):
    def grade(self, ctx) -> GradeResult:
        if ctx.static_scan:
            raw = ctx.layout.submission_file().read_bytes()
            if len(raw) > MAX_SOURCE_BYTES:
                return GradeResult(REJECTED, 0.0, message=f"submission is larger than {MAX_SOURCE_BYTES // 1024} KB")
            source = raw.decode("utf-8", errors="replace")
            try:
                import_lines, problems = profile_violations(source)
                violations = [
                    str(v)
                    for v in scan(source, ctx.spec.ENTRY, filename="submission.py")
                    if not (v.line in import_lines and "import" in v.reason)
                ]
            except (SubmissionSyntaxError, SyntaxError) as exc:
                return GradeResult(ERROR, 0.0, message=f"the submission is not valid Python: {exc}")
            violations += problems
            if violations:
                return GradeResult(
                    REJECTED, 0.0, message="the submission breaks the exam rules:\n" + "\n".join(violations[:20])
                )
            ctx = replace(ctx, static_scan=False)  # scanned above, with this kind's import allowance
        return super().grade(ctx)

    def _judge(self, out, case, reply: dict) -> tuple[bool, str]:
        # A launch the chip could not run fails the case first, whatever the interpreter computed.
        problem = check_log(reply.get("launch_log"), case.profile, case.footprint)
        if problem:
            return False, problem
        return judge_output(out, case)

    def _raised(self, case, reply: dict) -> TestResult:
        error = str(reply.get("error") or "")
        expected = getattr(case, "expect_error", None)
        if expected and error.startswith(f"{expected}:"):
            problem = check_log(reply.get("launch_log"), case.profile, case.footprint)
            if problem:
                return TestResult(case.name, False, 0.0, problem)
            return TestResult(case.name, True, 1.0, f"raised {expected} as required")
        if expected:
            return TestResult(case.name, False, 0.0, f"expected {expected}, but raised {error}")
        return super()._raised(case, reply)
