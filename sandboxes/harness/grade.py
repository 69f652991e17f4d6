"""Grade one submission: `python3 grade.py` in the container (layout under /grade, started as root), or
`python3 grade.py --root DIR` as a plain process (the `process` backend; no privilege drop, reported as not
isolated).

Writes DIR/results/results.json and prints the same JSON as the last line of stdout. Exit code 0 when a grade
was produced (any status), 70 when the harness itself failed (the result then says "harness error"), 2 for bad
usage. The grader contract is ../README.md.
"""

import time

STARTED = time.monotonic()  # the wall limit counts from here, before the slow imports

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Set before anything can import triton: @triton.jit picks the interpreter at decoration time.
os.environ["TRITON_INTERPRET"] = "1"
# The checker's own torch work is small; one thread keeps it inside the container's pids and CPU limits.
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradelib.checker import run  # noqa: E402
from gradelib.layout import CONTAINER_ROOT  # noqa: E402
from gradelib.leave import leave  # noqa: E402
from gradelib.limits import LIMIT_NAMES, Limits  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help=f"grading directory (default {CONTAINER_ROOT}, container mode)")
    parser.add_argument(
        "--isolation",
        choices=("require", "auto", "off"),
        help="privilege drop: 'require' (default in container mode) fails unless root; "
        "'auto' (default with --root) drops when root and reports when it cannot",
    )
    parser.add_argument("--limits", type=Path, help="limits JSON (default ROOT/limits.json)")
    for name in LIMIT_NAMES:
        parser.add_argument("--" + name.replace("_", "-"), type=float, dest=name)
    parser.add_argument("--quiet", action="store_true", help="do not print the result JSON to stdout")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="pooled container: start warm, then wait this long for the submission (ROOT/go); see gradelib/warm.py",
    )
    parser.add_argument(
        "--preload", default="", help="with --wait: comma-separated modules the candidate imports while it waits"
    )
    args = parser.parse_args(argv)
    if args.wait is not None:
        if args.wait <= 0 or args.limits:
            parser.error("--wait takes a positive number of seconds and the limits from ROOT/limits.json")
        from gradelib.warm import run_warm

        preload = tuple(name for name in args.preload.split(",") if name)
        root = args.root or CONTAINER_ROOT
        isolation = args.isolation or ("auto" if args.root else "require")
        return run_warm(root, wait_seconds=args.wait, preload=preload, isolation=isolation, echo=not args.quiet)

    root = args.root or CONTAINER_ROOT
    isolation = args.isolation or ("auto" if args.root else "require")
    try:
        limits = Limits.load(args.limits or root / "limits.json")
        overrides = {n: getattr(args, n) for n in LIMIT_NAMES if getattr(args, n) is not None}
        limits = Limits.from_mapping({**limits.__dict__, **overrides})
    except (ValueError, OSError) as exc:
        parser.error(f"bad limits: {exc}")
    if not root.is_dir():
        parser.error(f"{root} is not a directory")
    return run(root, limits=limits, isolation=isolation, started=STARTED, echo=not args.quiet)


if __name__ == "__main__":
    leave(main())
