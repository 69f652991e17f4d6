"""The trusted side: prepare the grading directory, load the task's hidden spec, pick the kind, grade, and
always write one results.json."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import secrets
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import kinds
from .context import GradeContext, WarmSlot
from .isolation import IsolationError, candidate_identity, lock_down, readable_by
from .layout import Layout
from .limits import Limits
from .results import ERROR, GradeResult
from .runtime import Runtime, RuntimeConfigError, check_available

EXIT_GRADED = 0
EXIT_HARNESS_FAILURE = 70  # results.json says "error: harness ..."; the backend should record not_gradable


class HarnessError(Exception):
    """The harness could not grade for a reason that is not the candidate's fault."""


def grade(
    layout: Layout,
    *,
    limits: Limits,
    isolation: str = "auto",
    started: float | None = None,
    static_scan: bool = True,
    scratch_base: Path | None = None,
    warm: WarmSlot | None = None,
) -> GradeResult:
    """Grade the submission in layout. Raises HarnessError for infrastructure problems.

    `warm` holds a candidate process started before the submission arrived (a pooled container); a kind that
    does not take it has it stopped before it runs."""
    started = time.monotonic() if started is None else started
    try:
        identity = candidate_identity(isolation)
    except IsolationError as exc:
        raise HarnessError(str(exc)) from None
    if not layout.submission_dir.is_dir():
        raise HarnessError(f"missing {layout.submission_dir}")
    if not (layout.tests_dir / "cases.py").is_file():
        raise HarnessError(f"missing {layout.tests_dir / 'cases.py'}")
    if identity.isolated:
        layout.results_dir.mkdir(mode=0o700, exist_ok=True)
        lock_down(layout.hidden_paths)
        exposed = [p for p in layout.hidden_paths if readable_by(p, identity.uid, identity.gid)]
        if exposed:
            raise HarnessError(f"hidden paths readable by the candidate: {', '.join(map(str, exposed))}")
    try:
        runtime = Runtime.load(layout.runtime_file)
        check_available(runtime)
    except (RuntimeConfigError, OSError) as exc:
        raise HarnessError(str(exc)) from None
    seed = _seed(layout)
    spec = _load_spec(layout.tests_dir)
    kind = kinds.get(getattr(spec, "KIND", ""))()
    deadline = started + limits.wall_seconds - limits.reserve_seconds
    ctx = GradeContext(
        layout=layout,
        limits=limits,
        identity=identity,
        seed=seed,
        deadline=deadline,
        scratch_base=scratch_base or Path(tempfile.gettempdir()),
        spec=spec,
        static_scan=static_scan,
        runtime=runtime,
        warm=warm,
    )
    if warm is not None and not getattr(kind, "takes_warm_candidate", False):
        warm.discard()
    try:
        result = kind.grade(ctx)
    finally:
        if warm is not None:
            warm.discard()
    if not identity.isolated:
        result = dataclasses.replace(result, message=f"{result.message}\n[{identity.note}]".strip())
    return result


def run(
    root: Path,
    *,
    limits: Limits | None = None,
    isolation: str = "auto",
    started: float | None = None,
    static_scan: bool = True,
    echo: bool = True,
) -> int:
    """Grade, write results.json (whatever happens) and return the process exit code."""
    layout = Layout(root)
    code = EXIT_GRADED
    try:
        limits = limits or Limits.load(layout.limits_file)
        kinds.load_builtin()
        result = grade(layout, limits=limits, isolation=isolation, started=started, static_scan=static_scan)
    except (HarnessError, IsolationError, RuntimeConfigError) as exc:
        code = EXIT_HARNESS_FAILURE
        result = GradeResult(ERROR, 0.0, message=f"harness error: {exc}")
    except Exception as exc:
        code = EXIT_HARNESS_FAILURE
        print(traceback.format_exc(), file=sys.stderr)
        result = GradeResult(ERROR, 0.0, message=f"harness error: {type(exc).__name__}: {exc}")
    text = result.to_json()
    write_results(layout, text)
    if echo:
        print(text, flush=True)
    return code


def write_results(layout: Layout, text: str) -> None:
    layout.results_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = layout.results_dir / ".results.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, layout.results_file)


def _seed(layout: Layout) -> int:
    """The backend may provide /grade/seed (root-only) to reproduce a run; otherwise a fresh secret."""
    if layout.seed_file.is_file():
        try:
            return int(layout.seed_file.read_text().strip()) % (1 << 63)
        except ValueError:
            raise HarnessError(f"{layout.seed_file} does not hold an integer") from None
    return secrets.randbits(63)


def _load_spec(tests_dir: Path):
    path = tests_dir / "cases.py"
    spec = importlib.util.spec_from_file_location("grade_task_cases", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise HarnessError(f"cannot load {path}: {type(exc).__name__}: {exc}") from None
    for name in ("KIND", "ENTRY", "cases"):
        if not hasattr(module, name):
            raise HarnessError(f"{path} does not define {name}")
    return module
