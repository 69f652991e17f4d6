"""Cases that call another function of the submission and judge the plain data it returns, e.g. a config
function `mm_config(M, N, K, dtype, profile=...) -> dict` beside the entry `mm`.

A `DataCase` makes one or more such calls and hands the values to its judge. A launching case (chips.ChipCase)
may name a `companion` call made just before it, whose value its launch judge compares the launches with
("mm launches with the config mm_config returned for this shape"). Only the checker builds and judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Call:
    """One call of a submission function by name, with the arguments the channel can carry (numbers, strings,
    torch dtypes, profiles, tensors)."""

    function: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        shown = [_short(a) for a in self.args]
        shown += [f"{k}={_short(v)}" for k, v in self.kwargs.items() if k != "profile"]
        return f"{self.function}({', '.join(shown)})"


@dataclass(frozen=True)
class DataCase:
    """A test judged only on returned values: `judge(values) -> (passed, message)`, values in call order."""

    name: str
    calls: tuple[Call, ...]
    judge: Callable[[list], tuple[bool, str]] = field(compare=False, repr=False)
    profile: object | None = None
    reference_s: float = field(default=0.0, compare=False)  # nothing is computed before the calls


def _short(value) -> str:
    text = str(value)
    return text.replace("torch.", "") if text.startswith("torch.") else text
