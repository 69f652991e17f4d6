"""Task kinds behind an explicit registry: `triton_op` (L1), `chip_profile` (L2), `cluster_plan` and
`plan_document` (L3).

A kind is a class with `grade(ctx: GradeContext) -> GradeResult`; it registers itself with @register("name"). The
kinds whose submission runs in a candidate process share their grade loop (candidate_grade.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")


class UnknownKindError(LookupError):
    """The task asks for a kind nobody registered."""


class DuplicateKindError(ValueError):
    """Two kinds tried to register under the same name."""


_KINDS: dict[str, type] = {}


def register(name: str) -> Callable[[type[K]], type[K]]:
    def decorator(cls: type[K]) -> type[K]:
        if name in _KINDS:
            raise DuplicateKindError(f"task kind {name!r} is already registered by {_KINDS[name].__name__}")
        _KINDS[name] = cls
        cls.kind = name
        return cls

    return decorator


def unregister(name: str) -> None:
    """For tests that register a temporary kind; they must restore the registry."""
    _KINDS.pop(name, None)


def get(name: str) -> type:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKindError(f"unknown task kind {name!r} (known: {', '.join(sorted(_KINDS)) or 'none'})") from None


def names() -> tuple[str, ...]:
    return tuple(sorted(_KINDS))


def load_builtin() -> None:
    """Import the kinds shipped with the harness (each registers itself once)."""
    from . import chip_profile, cluster_plan, plan_document, triton_op  # noqa: F401
