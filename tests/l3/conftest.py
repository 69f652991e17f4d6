"""The L3 exam's hidden grader modules on sys.path, as the checker loads them (they never reach a candidate)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAM = REPO / "exams" / "l3-architect"
TRAINING = EXAM / "tasks" / "plan_training"
sys.path.insert(0, str(TRAINING / "tests"))
sys.path.insert(0, str(EXAM / "tasks" / "plan_inference" / "tests"))
sys.path.insert(0, str(REPO / "sandboxes" / "harness"))  # gradelib.messages words the checkers' message codes


def text(message) -> str:
    """The English text of a checker's message (a string, a message dict or a list of them)."""
    from gradelib.messages import render

    return message if isinstance(message, str) else render(message)


def load_cases(task: str):
    """A task's hidden cases.py under its own module name (other tests import modules called `cases`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"l3_{task}_cases", EXAM / "tasks" / task / "tests" / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
