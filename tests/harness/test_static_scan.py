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


SHADOWING = (
    HEADER
    + """
@triton.jit
def k(input_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    input = tl.load(input_ptr + offs, mask=offs < n)
    max = tl.max(input, axis=0)
    sum = tl.sum(input, axis=0)
    filter = input > 0
    type = tl.where(filter, input - max, sum)
    tl.store(out_ptr + offs, type, mask=offs < n)


def add(input, other, open=None):
    compile = torch.empty_like(input)
    k[(1,)](input, compile, input.numel(), BLOCK=1024)
    for eval in range(1):
        pass
    return compile
"""
)


def test_local_variables_may_shadow_builtins():
    # attorch names every loaded block `input`; `max`, `sum`, `filter` and even `open` are ordinary local names.
    assert scan(SHADOWING, "add") == []


@pytest.mark.parametrize(
    "body",
    [
        "def add(x, y):\n    return input()",
        "def add(x, y):\n    f = eval\n    return f('1')",
        "def add(x, y):\n    return [open for open in (1,)] and open('/grade/seed')",
        "def add(x, y):\n    g = lambda: exec('1')\n    return g",
        "if False:\n    open = print\n\ndef add(x, y):\n    return open('/grade/seed')",
        "class C:\n    open = print\n    x = open('/grade/seed')",
        "def add(x, y, f=getattr):\n    return f(x, 'add')",
        "def add(x, y):\n    def inner():\n        return vars()\n    return inner",
    ],
)
def test_calls_and_references_of_banned_builtins_are_still_rejected(body):
    # Only a local binding in the same or an enclosing function shadows a builtin; module, class and
    # comprehension bindings do not (they can fall through to the builtin).
    source = HEADER + body + ("\n\ndef add(x, y):\n    pass\n" if "def add" not in body else "\n")
    violations = scan(source, "add")
    assert any("use of the builtin" in str(v) and "rule:" in str(v) for v in violations), [str(v) for v in violations]


ALLOCATIONS = [
    "torch.empty((3,), dtype=x.dtype)",
    "torch.empty_like(x)",
    "torch.empty_strided((3,), (1,), dtype=x.dtype)",
    "torch.zeros(3)",
    "torch.zeros_like(x)",
    "torch.ones(3)",
    "torch.ones_like(x)",
    "torch.full((3,), 2.0)",
    "torch.full_like(x, 1.0)",
    "x.new_empty((3,))",
    "x.new_empty_strided((3,), (1,))",
    "x.new_zeros(3)",
    "x.new_ones(3)",
    "x.new_full((3,), 0.5)",
]


@pytest.mark.parametrize("call", ALLOCATIONS)
def test_every_allocation_is_allowed_by_the_scan(call):
    assert scan(HEADER + f"def add(x, y):\n    return {call}\n", "add") == []


def test_the_allocation_list_is_the_scan_list():
    from gradelib import host_api

    listed = {c.split("(")[0].replace("x.", "").replace("torch.", "") for c in ALLOCATIONS}
    assert listed == set(host_api.TORCH_ALLOCATORS) | set(host_api.TENSOR_ALLOCATORS)


def test_a_torch_computation_names_the_allocation_rule():
    (violation,) = scan(HEADER + "def add(x, y):\n    return torch.add(x, y)\n", "add")
    text = str(violation)
    assert "torch.add is not allowed outside a kernel" in text and "rule:" in text
    assert "torch.ones_like" in text and "x.new_zeros" in text  # the allowed allocations are named
