"""Task kinds are plugins behind an explicit registry (CTFd's CHALLENGE_CLASSES, with refusals).

A kind says which runtimes can grade it and what files its grading run receives. `triton_op` is the L1 kind,
`chip_profile` the L2 one; `cluster_plan` (L3) registers here when it arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Runtime images under sandboxes/<name>/; the GPU one is selected by configuration on NVIDIA hosts.
RUNTIMES = frozenset({"triton-cpu", "triton-gpu"})


class UnknownTaskKind(LookupError):
    """No task kind is registered under this name."""


class DuplicateTaskKind(ValueError):
    """A task kind with this name is already registered."""


@dataclass(frozen=True)
class TaskKind:
    name: str
    runtimes: frozenset[str]
    submission_name: str  # the file name the candidate's code gets inside /grade/submission/
    description: str
    source_suffix: str = ".py"  # of the task's starter/solution files and of uploads (".md" for documents)
    # Its harness kind runs the torch candidate interpreter (run_candidate.py), which a pooled container has
    # already started with torch and triton imported; other kinds are graded in a cold container.
    warm_candidate: bool = False
    # Its tasks grade check by check: each proves its checks with wrong solutions under wrong/ (one per check,
    # submissions with the kind's source_suffix, see content/wrong_solutions.py), which the content check requires.
    wrong_solutions: bool = False


_KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    if kind.name in _KINDS:
        raise DuplicateTaskKind(kind.name)
    unknown = kind.runtimes - RUNTIMES
    if unknown:
        raise ValueError(f"task kind {kind.name!r} names unknown runtimes {sorted(unknown)}")
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> TaskKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownTaskKind(f"no task kind {name!r}; registered: {', '.join(sorted(_KINDS))}") from None


def registered() -> frozenset[str]:
    return frozenset(_KINDS)


@contextmanager
def temporary(kind: TaskKind) -> Iterator[TaskKind]:
    """Register `kind` for the duration of a block, restoring the registry afterwards (for tests)."""
    previous = _KINDS.get(kind.name)
    _KINDS[kind.name] = kind
    try:
        yield kind
    finally:
        if previous is None:
            del _KINDS[kind.name]
        else:
            _KINDS[kind.name] = previous


TRITON_OP = register(
    TaskKind(
        name="triton_op",
        runtimes=frozenset({"triton-cpu", "triton-gpu"}),
        submission_name="submission.py",
        description="One Python file defining an operator computed by Triton kernels it launches",
        warm_candidate=True,
        wrong_solutions=True,
    )
)

CHIP_PROFILE = register(
    TaskKind(
        name="chip_profile",
        runtimes=frozenset({"triton-cpu"}),
        submission_name="submission.py",
        description="One Python file defining an operator for a chip capability profile; every launch is checked "
        "against the profile",
        warm_candidate=True,
        wrong_solutions=True,
    )
)

CLUSTER_PLAN = register(
    TaskKind(
        name="cluster_plan",
        runtimes=frozenset({"triton-cpu", "triton-gpu"}),  # plain Python: any runtime image's interpreter will do
        submission_name="submission.py",
        description="One plain-Python file defining a planning function whose JSON plan a hidden simulator scores",
    )
)

PLAN_DOCUMENT = register(
    TaskKind(
        name="plan_document",
        runtimes=frozenset({"triton-cpu", "triton-gpu"}),
        submission_name="design.md",
        description="A Markdown design document; sections and quoted numbers are checked against its plan",
        source_suffix=".md",
        wrong_solutions=True,
    )
)


def source_suffix(kind_name: str) -> str:
    """The suffix of a task's starter/solution files; unknown kinds (reported elsewhere) count as Python."""
    kind = _KINDS.get(kind_name)
    return kind.source_suffix if kind is not None else ".py"


def proves_checks(kind_name: str) -> bool:
    """Whether a kind's tasks must prove their checks with wrong solutions; unknown kinds (reported elsewhere)
    do not."""
    kind = _KINDS.get(kind_name)
    return kind is not None and kind.wrong_solutions
