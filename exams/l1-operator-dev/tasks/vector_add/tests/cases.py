"""Hidden tests for vector_add: add(x, y) -> x + y. Shapes and dtypes are public (prompt); values come from the seed."""
import torch

from gradelib.triton_cases import describe, make_case, randn

KIND = "triton_op"
ENTRY = "add"
CALL_SECONDS = 30

# (shape, dtype, layout): one element, sizes around and between block multiples, an empty tensor,
# a larger 1-D tensor, 2-D tensors, and non-contiguous views.
SHAPES = [
    ((1,), torch.float32, "contiguous"),
    ((127,), torch.float32, "contiguous"),
    ((129,), torch.float16, "contiguous"),
    ((1000,), torch.float32, "contiguous"),
    ((4097,), torch.float16, "contiguous"),
    ((0,), torch.float32, "contiguous"),
    ((65_537,), torch.float32, "contiguous"),
    ((33, 65), torch.float16, "contiguous"),
    ((130, 64), torch.float32, "transposed"),
    ((3, 1000), torch.float16, "strided"),
]


def reference(x, y):
    return x + y


def cases(gen: torch.Generator):
    out = []
    for shape, dtype, layout in SHAPES:
        x = randn(shape, dtype, gen, layout=layout)
        y = randn(shape, dtype, gen, layout=layout)
        out.append(make_case(describe(x), reference, (x, y)))
    return out
