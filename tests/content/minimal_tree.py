"""A tiny valid content tree written by the tests: one course, one module, two lessons, a 5-question quiz."""

from __future__ import annotations

from pathlib import Path

COURSE = "courses/l1"
MODULE = f"{COURSE}/01-basics"
LESSON1 = f"{MODULE}/01-first"
LESSON2 = f"{MODULE}/02-second"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


COURSE_YAML = f"""\
uuid: {uid(1)}
level: L1
exam: l1-exam
title:
  zh: 课程
  en: Course
summary: {{zh: 摘要, en: Summary}}
certifies: {{zh: 证明, en: What it certifies}}
exam_format: {{zh: 形式, en: Format}}
prerequisites: []
modules:
- 01-basics
skills:
- {{zh: Triton 算子开发, en: Triton kernel development}}
- {{zh: 数值精度验证, en: Numerical accuracy testing}}
"""

MODULE_YAML = f"""\
uuid: {uid(2)}
title: {{zh: 模块, en: Module}}
summary: {{zh: 摘要, en: Summary}}
pass_threshold: 0.8
lessons:
- 01-first
- 02-second
"""


def lesson_yaml(n: int) -> str:
    return f"""\
uuid: {uid(n)}
title: {{zh: 课 {n}, en: Lesson {n}}}
summary: {{zh: 摘要, en: Summary}}
duration_minutes: 10
"""


LESSON1_MD = """\
# First

See the [next lesson](../02-second/) and ![a diagram](assets/diagram.svg).

`[not a link](nowhere)` and [docs](https://example.org/triton).

```python
x = "[fake](missing.md) <script>"
```
"""

LESSON2_MD = """\
# Second

Back to the [first lesson](../01-first#masks), or [this one](#top).
"""

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">\n<rect width="10"/>\n</svg>\n'

QUIZ_YAML = f"""\
uuid: {uid(20)}
title: {{zh: 测验, en: Quiz}}
questions:
- uuid: {uid(21)}
  kind: single
  prompt: {{zh: 选一个, en: Pick one}}
  options:
  - {{id: a, text: {{zh: 甲, en: A}}}}
  - {{id: b, text: {{zh: 乙, en: B}}}}
  answer: a
  explanation: {{zh: 因为, en: Because}}
- uuid: {uid(22)}
  kind: multiple
  prompt: {{zh: 选多个, en: Pick some}}
  options:
  - {{id: a, text: {{zh: 甲, en: A}}}}
  - {{id: b, text: {{zh: 乙, en: B}}}}
  - {{id: c, text: {{zh: 丙, en: C}}}}
  answer: [a, c]
  explanation: {{zh: 因为, en: Because}}
- uuid: {uid(23)}
  kind: numeric
  prompt: {{zh: 多少, en: How many}}
  answer:
    value: 4
    tolerance: 0
  explanation: {{zh: 因为, en: Because}}
- uuid: {uid(24)}
  kind: single
  prompt: {{zh: 再选一个, en: Pick another}}
  options:
  - {{id: x, text: {{zh: 对, en: Right}}}}
  - {{id: y, text: {{zh: 错, en: Wrong}}}}
  answer: y
  explanation: {{zh: 因为, en: Because}}
- uuid: {uid(25)}
  kind: numeric
  prompt: {{zh: 约多少, en: About how much}}
  answer: {{value: 0.5, tolerance: 0.01}}
  explanation: {{zh: 因为, en: Because}}
"""


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_minimal_tree(root: Path) -> Path:
    """Write the valid tree under `root` (which then holds `courses/`) and return `root`."""
    write(root, f"{COURSE}/course.yaml", COURSE_YAML)
    write(root, f"{MODULE}/module.yaml", MODULE_YAML)
    write(root, f"{MODULE}/quiz.yaml", QUIZ_YAML)
    for n, lesson, body in ((11, LESSON1, LESSON1_MD), (12, LESSON2, LESSON2_MD)):
        write(root, f"{lesson}/lesson.yaml", lesson_yaml(n))
        write(root, f"{lesson}/lesson.zh.md", body)
        write(root, f"{lesson}/lesson.en.md", body)
    write(root, f"{LESSON1}/assets/diagram.svg", SVG)
    return root


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace `old` (which must occur once) by `new` in one file of the tree."""
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(root: Path, rel: str, needle: str, nth: int = 1) -> int:
    """1-based line of the `nth` line of `rel` that contains `needle`."""
    hits = [i for i, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


EXAM = "exams/l1-exam"
EXAM_YAML = f"""\
uuid: {uid(90)}
level: L1
title: {{zh: 考试, en: Exam}}
instructions: {{zh: 说明, en: Instructions}}
time_limit_minutes: 60
pass_mark: 0.7
attempt_policy: {{cooldown_hours: 24, max_attempts: 3, window_days: 365}}
runtime: triton-cpu
tasks:
- id: add_one
  kind: triton_op
  weight: 1
  limits: {{wall_seconds: 30, memory_mb: 512, pids: 64, cpus: 1, file_size_mb: 4, output_kb: 16}}
review: {{approvals_required: 1, resubmit_days: 7}}
rubric:
- id: clarity
  title: {{zh: 清晰, en: Clarity}}
  levels:
  - {{points: 0, descriptor: {{zh: 不清楚, en: Unclear}}}}
  - {{points: 2, descriptor: {{zh: 清楚, en: Clear}}}}
"""


def _triton_op_rules() -> str:
    from certplatform.sandbox.harness_data import load

    host_api = load("host_api")
    return f"- {host_api.allocators_markdown()}\n- {host_api.banned_builtins_markdown()}\n"


# A triton_op prompt states the allocation list and the banned builtins exactly as the grader applies them.
TRITON_OP_RULES = _triton_op_rules()


WRONG_FILE = "wrong/adds_two.py"
WRONG_SOURCE = (
    '"""Wrong: adds two."""\n\n# expect: failed differ beyond the tolerance\ndef add_one(x):\n    return x + 2\n'
)


def write_minimal_exam(root: Path) -> Path:
    """An exam with one task next to the course tree: exam.yaml, prompts, starter, solution, a test file and a
    wrong solution."""
    write(root, f"{EXAM}/exam.yaml", EXAM_YAML)
    task = f"{EXAM}/tasks/add_one"
    write(root, f"{task}/prompt.zh.md", f"# 加一\n\n实现 `add_one(x)`。\n\n{TRITON_OP_RULES}")
    write(root, f"{task}/prompt.en.md", f"# Add one\n\nImplement `add_one(x)`.\n\n{TRITON_OP_RULES}")
    write(root, f"{task}/starter.py", "def add_one(x):\n    raise NotImplementedError\n")
    write(root, f"{task}/solution.py", "def add_one(x):\n    return x + 1\n")
    write(root, f"{task}/tests/cases.py", "CASES = [1, 2, 3]\n")
    write(root, f"{task}/{WRONG_FILE}", WRONG_SOURCE)
    return root
