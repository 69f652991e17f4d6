"""Hidden tests for gelu: the tanh approximation. Shapes, dtypes and value ranges are public (prompt)."""
import math

import torch

from gradelib.triton_cases import describe, make_case, randn

KIND = "triton_op"
ENTRY = "gelu"
CALL_SECONDS = 30

# (shape, dtype, layout, scale): values are normal * scale; scale 8 reaches the saturated tails on both sides.
SHAPES = [
    ((1,), torch.float32, "contiguous", 1.0),
    ((127,), torch.float32, "contiguous", 1.0),
    ((129,), torch.float16, "contiguous", 1.0),
    ((1000,), torch.float32, "contiguous", 3.0),
    ((4097,), torch.float16, "contiguous", 3.0),
    ((0,), torch.float16, "contiguous", 1.0),
    ((65_537,), torch.float32, "contiguous", 8.0),
    ((64, 257), torch.float16, "contiguous", 8.0),
    ((96, 40), torch.float32, "transposed", 2.0),
    ((5, 700), torch.float16, "strided", 2.0),
]


def reference(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def cases(gen: torch.Generator):
    out = []
    for shape, dtype, layout, scale in SHAPES:
        x = randn(shape, dtype, gen, scale=scale, layout=layout)
        out.append(make_case(describe(x), reference, (x,)))
    return out
