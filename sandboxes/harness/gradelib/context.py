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


class WarmSlot:
    """A candidate process a pooled container started before its submission arrived, for the kind to take.

    Taken at most once; a kind that runs another candidate program (or none) leaves it, and the checker stops
    it before that kind starts its own."""

    def __init__(self, proc):
        self._proc = proc

    def take(self, runner: str):
        proc, self._proc = self._proc, None
        if proc is not None and proc.runner != runner:
            self._proc = proc
            return None
        return proc

    def discard(self) -> None:
        """Stop the warm process if no kind took it (nothing of the candidate's ever ran in it)."""
        from .isolation import remove_scratch

        proc, self._proc = self._proc, None
        if proc is not None:
            proc.stop(graceful=True)
            remove_scratch(proc.scratch, proc.identity)


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
    warm: WarmSlot | None = None  # a pooled container's candidate process, started before the submission arrived

    def remaining(self) -> float:
        return self.deadline - time.monotonic()
