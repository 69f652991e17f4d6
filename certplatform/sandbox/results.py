"""The one results model: what a grading run produced, validated from the harness's results.json."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = frozenset({"passed", "failed", "rejected", "timeout", "error", "not_gradable"})
MAX_RESULTS_BYTES = 1_000_000  # the harness caps results.json here; anything larger is not trusted
MAX_TESTS = 500
MAX_TEXT = 64 * 1024
# The optional per-test `timing` object of the GPU runtime: numeric fields kept, anything else dropped.
TIMING_NUMBERS = ("median_ms", "min_ms", "mean_ms", "reps", "torch_median_ms", "speedup")


@dataclass(frozen=True)
class TestOutcome:
    name: str
    passed: bool
    score: float
    message: str
    parts: tuple[dict, ...] | None = field(default=None, compare=False)  # the message as codes (grader_messages)
    compute_s: float | None = None  # the candidate's calls and the reference in this test (harness-measured)


@dataclass(frozen=True)
class GradeResult:
    status: str
    score: float
    tests: tuple[TestOutcome, ...] = ()
    message: str = ""
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    backend: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    parts: tuple[dict, ...] | None = field(default=None, compare=False)  # the message as codes (grader_messages)
    compute_s: float | None = None  # the sum of the tests' compute_s: what the tests themselves cost

    @property
    def gradable(self) -> bool:
        return self.status != "not_gradable"

    def as_cli_json(self) -> dict[str, Any]:
        """The object `certplatform grade --json` prints (the command-line contract)."""
        return {
            "status": self.status,
            "score": self.score,
            "tests": [
                {"name": t.name, "passed": t.passed, "message": t.message, "compute_s": _rounded(t.compute_s)}
                for t in self.tests
            ],
            "message": self.message,
            "duration_s": round(self.duration_s, 3),
            "compute_s": _rounded(self.compute_s),
        }

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data.pop("parts")
        for test in data["tests"]:
            test.pop("parts")
        return data


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def not_gradable(
    message: str, duration_s: float = 0.0, backend: str = "", parts: list[dict] | None = None
) -> GradeResult:
    """The sandbox could not grade: an infrastructure failure that costs the candidate nothing. `parts`: the
    message as codes, for each reader's language (grader_messages)."""
    return GradeResult(
        "not_gradable", 0.0, (), message, duration_s=duration_s, backend=backend, parts=tuple(parts) if parts else None
    )


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("score is not a finite number")
    return min(max(float(value), 0.0), 1.0)


def parse_results(raw: bytes, duration_s: float, backend: str) -> GradeResult:
    """Validate results.json bytes from the harness; anything malformed raises ValueError."""
    if len(raw) > MAX_RESULTS_BYTES:
        raise ValueError(f"results.json is {len(raw)} bytes, over the {MAX_RESULTS_BYTES}-byte cap")
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("results.json is not an object")
    status = data.get("status")
    if status not in STATUSES - {"not_gradable"}:
        raise ValueError(f"unknown status {status!r}")
    tests_raw = data.get("tests") or []
    if not isinstance(tests_raw, list):
        raise ValueError("tests is not a list")
    tests = tuple(
        TestOutcome(
            _text(t.get("name"), 200),
            bool(t.get("passed")),
            _score(t.get("score", 0)),
            _text(t.get("message"), 2000),
            _parts(t.get("parts")),
            _seconds(t.get("compute_s")),
        )
        for t in tests_raw[:MAX_TESTS]
        if isinstance(t, dict)
    )
    timings = [
        {"name": _text(t.get("name"), 200), **timing}
        for t in tests_raw[:MAX_TESTS]
        if isinstance(t, dict) and (timing := _timing(t.get("timing")))
    ]
    return GradeResult(
        status=status,
        score=_score(data.get("score")),
        tests=tests,
        message=_text(data.get("message"), 4000),
        stdout=_text(data.get("stdout")),
        stderr=_text(data.get("stderr")),
        duration_s=duration_s,
        backend=backend,
        extra={"timing": timings} if timings else {},
        parts=_parts(data.get("parts")),
        compute_s=_seconds(data.get("compute_s")),
    )


def _seconds(value: Any) -> float | None:
    """A compute time from results.json: a finite non-negative number, else unknown (never an error: it decides
    nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _parts(value: Any) -> tuple[dict, ...] | None:
    """A message's codes and arguments, kept only when they are well-formed (else the text alone is shown)."""
    from certplatform.sandbox.grader_messages import valid_parts

    parts = valid_parts(value)
    return tuple(parts) if parts else None


def _timing(value: Any) -> dict[str, Any]:
    """The GPU runtime's per-test timing, validated field by field; empty when absent or unusable. It never
    decides anything (timings are reported, not scored), so a malformed one is dropped, not an error."""
    if not isinstance(value, dict):
        return {}
    timing: dict[str, Any] = {}
    for key in TIMING_NUMBERS:
        number = value.get(key)
        if isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number) and number >= 0:
            timing[key] = number
    if "median_ms" not in timing:
        return {}
    if isinstance(value.get("flag"), str):
        timing["flag"] = value["flag"][:500]
    return timing
