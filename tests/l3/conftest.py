"""The L3 exam's hidden grader modules on sys.path, as the checker loads them (they never reach a candidate)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAM = REPO / "exams" / "l3-architect"
TRAINING = EXAM / "tasks" / "plan_training"
sys.path.insert(0, str(TRAINING / "tests"))
