"""The result model: frozen dataclasses serialised to one capped JSON object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .messages import parts_of, text_of

PASSED = "passed"
FAILED = "failed"
REJECTED = "rejected"
TIMEOUT = "timeout"
ERROR = "error"
STATUSES = (PASSED, FAILED, REJECTED, TIMEOUT, ERROR)

MAX_RESULTS_BYTES = 1_000_000
MAX_TEST_MESSAGE = 2_000
MAX_MESSAGE = 4_000


def clip(text: str, limit: int) -> str:
    """Shorten text to at most limit characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit} characters truncated]"
    return text[: max(0, limit - len(marker))] + marker


@dataclass(frozen=True)
class TestResult:
    name: str
    passed: bool
    score: float
    message: str = ""
    # GPU runtime only: {"median_ms", "min_ms", "mean_ms", "reps", "torch_median_ms"?, "speedup"?, "flag"?}.
    # Absent (not null) otherwise, so the CPU runtime's results.json is exactly what it always was.
    timing: dict | None = None
    # The message as codes and arguments (messages.py), so a reader gets it in their language; absent when the
    # message has no code.
    parts: tuple[dict, ...] | None = None
    # Seconds spent in the work the test itself needs: the candidate's call(s) and the checker's reference. Absent
    # for kinds that do not measure it.
    compute_s: float | None = None

    __test__ = False  # not a pytest test class

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "passed": self.passed,
            "score": round(float(self.score), 6),
            "message": clip(self.message, MAX_TEST_MESSAGE),
        }
        if self.timing is not None:
            data["timing"] = dict(self.timing)
        if self.parts:
            data["parts"] = list(self.parts)
        if self.compute_s is not None:
            data["compute_s"] = round(float(self.compute_s), 6)
        return data


@dataclass(frozen=True)
class GradeResult:
    status: str
    score: float
    tests: tuple[TestResult, ...] = field(default_factory=tuple)
    message: str = ""
    stdout: str = ""
    stderr: str = ""
    parts: tuple[dict, ...] | None = None  # the message as codes and arguments (see TestResult.parts)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [0, 1]")

    @property
    def compute_s(self) -> float | None:
        """The submission's compute time: the sum over its tests (None when no test measured it)."""
        measured = [t.compute_s for t in self.tests if t.compute_s is not None]
        return sum(measured) if measured else None

    def to_dict(self) -> dict:
        compute = self.compute_s
        return {
            "status": self.status,
            "score": round(float(self.score), 6),
            "tests": [t.to_dict() for t in self.tests],
            "message": clip(self.message, MAX_MESSAGE),
            "stdout": self.stdout,
            "stderr": self.stderr,
            **({"parts": list(self.parts)} if self.parts else {}),
            **({"compute_s": round(compute, 6)} if compute is not None else {}),
        }

    def to_json(self, cap: int = MAX_RESULTS_BYTES) -> str:
        """Serialise, shrinking stdout/stderr first, then test messages, then the test list, to stay under cap
        bytes."""
        data = self.to_dict()
        text = _dump(data)
        for limit in (64_000, 16_000, 4_000, 1_000, 0):
            if len(text.encode()) <= cap:
                return text
            data["stdout"] = clip(data["stdout"], limit)
            data["stderr"] = clip(data["stderr"], limit)
            text = _dump(data)
        for limit in (500, 100, 0):
            if len(text.encode()) <= cap:
                return text
            for t in data["tests"]:
                t["message"] = clip(t["message"], limit)
                if limit < 500:
                    t.pop("parts", None)
            text = _dump(data)
        while len(text.encode()) > cap and data["tests"]:
            data["tests"] = data["tests"][: len(data["tests"]) // 2]
            data["message"] = clip(data["message"], 1_000) + " [test list truncated]"
            text = _dump(data)
        return text


def _dump(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def grade_result(status: str, score: float, *parts, tests=(), stdout: str = "", stderr: str = "") -> GradeResult:
    """A grade whose message is `parts` (messages or message dicts): the English text and the codes."""
    found = parts_of(*parts)
    return GradeResult(status, score, tuple(tests), text_of(found), stdout, stderr, found or None)


def case_result(
    name: str,
    passed: bool,
    *parts,
    score: float | None = None,
    timing: dict | None = None,
    compute_s: float | None = None,
) -> TestResult:
    """A test whose message is `parts`; without `score` it is worth all (passed) or nothing."""
    found = parts_of(*parts)
    worth = (1.0 if passed else 0.0) if score is None else score
    return TestResult(name, passed, worth, text_of(found), timing, found or None, compute_s)


def score_of(tests: tuple[TestResult, ...] | list[TestResult]) -> float:
    """Every test is worth the same; the task score is the mean test score."""
    if not tests:
        return 0.0
    return min(1.0, max(0.0, sum(t.score for t in tests) / len(tests)))
