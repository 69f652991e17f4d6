"""Cases that call a function returning a forward, then call that forward and judge what it returns: an output
tensor and named intermediate tensors (taps), e.g. `migrate_block(block, profile=...)` returning
`forward(x) -> (out, {"attn_norm": ..., ...})`. Only the checker builds and judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ForwardCase:
    """entry(*args, **kwargs) must return a callable; it is called with `apply` in the same call (same guards,
    same launch log, checked against `profile`). `judge(out, taps) -> (passed, message)` decides on the tensors
    (taps: name -> tensor, as returned)."""

    name: str
    args: tuple
    apply: tuple
    judge: Callable[[object, dict], tuple[bool, str]] = field(compare=False, repr=False)
    profile: object
    kwargs: dict = field(default_factory=dict)
    footprint: Callable[[dict], int] | None = field(default=None, compare=False, repr=False)
    tiles: Callable[[dict], dict[str, int]] | None = field(default=None, compare=False, repr=False)
    require_launch: bool = True
    reference_s: float = field(default=0.0, compare=False)  # the references are computed in judge()
