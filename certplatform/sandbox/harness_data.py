"""Standard-library modules of the in-container harness that the web app reads too: data and the delivery protocol,
never the grading code itself.

`host_api` (what host code may call: the allocation list the prompts must show), `messages` (the codes and
English templates of every grader message), `chipprofile` (the L2 exam's public chip profiles and hidden ranges,
which its profile files and the tables in its lesson and prompts must show), `candidate_user` (the account the
candidate's code runs as) and `delivery` (how a pooled container receives its submission and returns its result)
are the single source for both sides.
They use only the standard library, so they are loaded straight from sandboxes/harness without importing the
harness package (which needs torch).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

HARNESS = Path(__file__).resolve().parents[2] / "sandboxes" / "harness"
DATA_MODULES = {
    "host_api": HARNESS / "gradelib" / "host_api.py",
    "messages": HARNESS / "gradelib" / "messages.py",
    "chipprofile": HARNESS / "chipprofile.py",
    "candidate_user": HARNESS / "gradelib" / "candidate_user.py",
    "delivery": HARNESS / "gradelib" / "delivery.py",
}


@cache
def load(name: str) -> ModuleType:
    """One of DATA_MODULES, loaded once under a private name."""
    if name not in DATA_MODULES:
        raise ValueError(f"{name!r} is not a harness data module")
    qualified = f"certplatform._harness_{name}"
    spec = importlib.util.spec_from_file_location(qualified, DATA_MODULES[name])
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module
