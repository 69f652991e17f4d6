"""The static layer: what a submission may write, checked on its AST before it runs."""

import pytest
from gradelib.static_scan import SubmissionSyntaxError, scan

from .conftest import EXAM, GOOD_ADD, TASKS

ENTRIES = {"vector_add": "add"}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("kind", ["solution", "starter"])
def test_exam_files_follow_the_rules(task, kind):
    source = (EXAM / "tasks" / task / f"{kind}.py").read_text()
    assert scan(source, ENTRIES.get(task, task)) == []


HEADER = "import torch\nimport triton\nimport triton.language as tl\n"


@pytest.mark.parametrize(
    "body, reason",
    [
        ("import os", "import of 'os'"),
        ("import numpy as np", "import of 'numpy'"),
        ("import ctypes", "import of 'ctypes'"),
        ("import torch.nn.functional as F", "torch.nn.functional"),
        ("from torch import add", "torch.add is not allowed"),
        ("from . import helper", "import from"),
        ("def add(x, y):\n    return torch.add(x, y)", "torch.add is not allowed"),
        ("def add(x, y):\n    return torch.nn.functional.gelu(x)", "torch.nn is not allowed"),
        ("def add(x, y):\n    return x.add(y)", ".add() computes with torch"),
        ("def add(x, y):\n    return torch.Tensor.add(x, y)", "torch.Tensor.add computes"),
        ("def add(x, y):\n    return x.numpy()", ".numpy() computes"),
        ("def add(x, y):\n    return torch.ops.aten.add(x, y)", "torch.ops is not allowed"),
        ("T = torch", "may only be used as"),
        ("def add(x, y):\n    f = getattr(torch, 'add')", "'getattr'"),
        ("def add(x, y):\n    return eval('x + y')", "'eval'"),
        ("def add(x, y):\n    return open('/grade/tests/cases.py').read()", "'open'"),
        ("def add(x, y):\n    return x.__class__", "private attribute '__class__'"),
        ("def add(x, y):\n    return torch._C", "private attribute '_C'"),
        ("torch.empty = None", "monkeypatching"),
        ("tl.store = None", "monkeypatching"),
        ("def add(x, y):\n    global CACHE", "global statements"),
        ("def add(x, y):\n    return '{0.__class__}'.format(x)", ".format() computes"),
        ("@triton.jit\ndef k(p):\n    torch.empty(1)", "torch may not be used inside a Triton kernel"),
        ("@triton.jit\ndef k(p):\n    v = tl.load(p)\n    return v.handle", ".handle"),
        ("def add(x, y):\n    return tl.extra.cuda.libdevice.tanh(x)", "libdevice"),
        ("def add(x, y):\n    return triton.runtime.driver", "triton.runtime is not allowed"),
    ],
)
def test_rule_breaks_are_named_with_their_line(body, reason):
    source = HEADER + body + ("\n\ndef add(x, y):\n    pass\n" if "def add" not in body else "\n")
    violations = scan(source, "add")
    assert violations, body
    assert any(reason in str(v) for v in violations), [str(v) for v in violations]
    assert all(v.line >= 1 for v in violations)


def test_kernels_may_use_triton_language_freely():
    assert scan(GOOD_ADD, "add") == []


def test_missing_entry_point_is_reported():
    assert any("no top-level function named 'add'" in str(v) for v in scan(HEADER, "add"))


def test_syntax_errors_raise():
    with pytest.raises(SubmissionSyntaxError, match="line 1"):
        scan("def add(:\n", "add")
