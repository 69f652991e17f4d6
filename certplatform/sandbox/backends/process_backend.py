"""Development backend: the same harness in a local process with rlimits. Not isolated; refused in production."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certplatform.sandbox import candidate_access
from certplatform.sandbox.backends.base import GradeRequest, write_layout
from certplatform.sandbox.limits import Limits
from certplatform.sandbox.results import GradeResult, not_gradable, parse_results

NOT_ISOLATED = "not isolated"
HARNESS_FAILED = 70
GRADED = frozenset({"passed", "failed", "rejected", "timeout"})  # a grade the candidate's access cannot explain


@dataclass
class ProcessBackend:
    name = "process"
    isolated = False
    python: str
    harness: Path

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ProcessBackend:
        return cls(
            python=config["SANDBOX_PYTHON"], harness=Path(config["SANDBOX_REPO_ROOT"]) / "sandboxes/harness/grade.py"
        )

    def preflight(self) -> candidate_access.AccessProblem | None:
        """What stops the candidate user from running our interpreter or harness, found before grading."""
        return candidate_access.check(self.python, self.harness.parent / "run_candidate.py")

    def health(self) -> str:
        if not (Path(self.python).exists() and self.harness.is_file()):
            return "error: interpreter or harness missing"
        problem = self.preflight()
        return "ok" if problem is None else "error: " + problem.summary()

    # Every grade starts its own harness process, which ends with it: no pool to warm, nothing left to reap.
    def pool_status(self) -> None:
        return None

    def warm_up(self, runtime: str, limits: Limits) -> None:
        return None

    def reap(self) -> list[str]:
        return []

    def grade(self, request: GradeRequest) -> GradeResult:
        started = time.monotonic()
        result = self._grade(request, started)
        if result.status in GRADED:
            return result
        # Why the harness could not grade, when the reason is the candidate user's access: found after the fact,
        # so that a working setup does not start an extra interpreter before every grade.
        problem = self.preflight()
        if problem is not None:
            return not_gradable(problem.message(), time.monotonic() - started, self.name, problem.parts())
        return result

    def _grade(self, request: GradeRequest, started: float) -> GradeResult:
        workdir = Path(tempfile.mkdtemp(prefix="certplatform-grade-"))
        try:
            workdir.chmod(0o755)  # the harness (root) keeps tests private itself; the candidate needs to traverse
            write_layout(request, workdir)
            try:
                proc = subprocess.run(  # noqa: S603 - fixed interpreter and harness paths from configuration
                    [self.python, str(self.harness), "--root", str(workdir), "--quiet"],
                    capture_output=True,
                    timeout=request.limits.kill_after_s,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return self._label(
                    GradeResult(
                        "timeout",
                        0.0,
                        (),
                        f"the run exceeded the {request.limits.wall_seconds} s time limit",
                        duration_s=time.monotonic() - started,
                        backend=self.name,
                    )
                )
            except OSError as exc:
                return not_gradable(f"cannot start the harness: {exc}", backend=self.name)
            duration = time.monotonic() - started
            if proc.returncode == HARNESS_FAILED:
                return not_gradable(
                    "the grader itself failed: " + proc.stderr.decode(errors="replace")[-500:], duration, self.name
                )
            results = workdir / "results" / "results.json"
            try:
                return self._label(parse_results(results.read_bytes(), duration, self.name))
            except (OSError, ValueError) as exc:
                return not_gradable(f"the grader produced no readable result: {exc}", duration, self.name)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    @staticmethod
    def _label(result: GradeResult) -> GradeResult:
        if NOT_ISOLATED in result.message:
            return result
        from dataclasses import replace

        return replace(result, message=f"{result.message} [{NOT_ISOLATED}: process backend]".strip())
