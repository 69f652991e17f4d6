"""The directory layout the backend prepares and the harness reads (see sandboxes/README.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTAINER_ROOT = Path("/grade")


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def submission_dir(self) -> Path:
        return self.root / "submission"

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def results_file(self) -> Path:
        return self.results_dir / "results.json"

    @property
    def limits_file(self) -> Path:
        return self.root / "limits.json"

    @property
    def seed_file(self) -> Path:
        return self.root / "seed"

    @property
    def runtime_file(self) -> Path:
        """Optional: the device the backend gave this run (absent = the CPU interpreter)."""
        return self.root / "runtime.json"

    @property
    def hidden_paths(self) -> tuple[Path, ...]:
        """Everything the candidate must not read or write."""
        return (self.tests_dir, self.results_dir, self.limits_file, self.seed_file, self.runtime_file)

    def submission_file(self) -> Path:
        """`submission.py` if present, else the only *.py file in submission/."""
        preferred = self.submission_dir / "submission.py"
        if preferred.is_file():
            return preferred
        candidates = sorted(p for p in self.submission_dir.glob("*.py") if p.is_file())
        if len(candidates) != 1:
            raise FileNotFoundError(
                f"expected {preferred} or exactly one .py file in {self.submission_dir}, found {len(candidates)}"
            )
        return candidates[0]
