"""Limits a task grants, read from /grade/limits.json (the task's `limits` from exam.yaml) or given on the
command line.

The backend enforces them for the container (cgroups, tmpfs, network); the harness enforces what it can
itself: its own wall-clock deadline, a timeout per candidate call, rlimits on the candidate process and output
capture caps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    wall_seconds: int = 120
    memory_mb: int = 2048
    pids: int = 128
    cpus: float = 1.0
    file_size_mb: int = 16
    output_kb: int = 64

    @classmethod
    def from_mapping(cls, data: dict) -> Limits:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        values = {}
        for f in fields(cls):
            if f.name in data:
                value = float(data[f.name]) if f.type in ("float", float) else int(data[f.name])
                if value <= 0:
                    raise ValueError(f"limit {f.name} must be positive, got {data[f.name]!r}")
                values[f.name] = value
        return cls(**values)

    @classmethod
    def load(cls, path: Path) -> Limits:
        if not path.exists():
            return cls()
        return cls.from_mapping(json.loads(path.read_text()))

    def override(self, **changes) -> Limits:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def reserve_seconds(self) -> float:
        """Time kept back from the wall limit so the harness can always write its result before the backend
        kills it."""
        return min(10.0, max(2.0, 0.05 * self.wall_seconds))


LIMIT_NAMES = tuple(f.name for f in fields(Limits))  # the contract's names, in the order of exam.yaml's
