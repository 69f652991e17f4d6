"""What the checker hands to a task kind."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from .isolation import Identity
from .layout import Layout
from .limits import Limits
from .runtime import Runtime


@dataclass(frozen=True)
class GradeContext:
    layout: Layout
    limits: Limits
    identity: Identity
    seed: int
    deadline: float  # time.monotonic() by which grading must be over
    scratch_base: Path
    spec: ModuleType  # the task's hidden tests/cases.py
    static_scan: bool = True
    runtime: Runtime = field(default_factory=Runtime)  # the CPU interpreter unless /grade/runtime.json says otherwise

    def remaining(self) -> float:
        return self.deadline - time.monotonic()
