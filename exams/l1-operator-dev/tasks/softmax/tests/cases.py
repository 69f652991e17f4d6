"""Hidden tests for softmax: row-wise over the last dimension of a 2-D tensor. Shapes/dtypes are public (prompt)."""
import torch

from gradelib.triton_cases import describe, make_case, randn

KIND = "triton_op"
ENTRY = "softmax"
CALL_SECONDS = 60

# (shape, dtype, layout, scale): scale 60 makes exp overflow unless the row maximum is subtracted first.
SHAPES = [
    ((1, 1), torch.float32, "contiguous", 1.0),
    ((3, 127), torch.float32, "contiguous", 1.0),
    ((5, 129), torch.float16, "contiguous", 1.0),
    ((32, 1000), torch.float32, "contiguous", 3.0),
    ((8, 4097), torch.float16, "contiguous", 3.0),
    ((4, 16384), torch.float32, "contiguous", 3.0),
    ((2, 16384), torch.float16, "contiguous", 3.0),
    ((0, 129), torch.float32, "contiguous", 1.0),
    ((16, 1000), torch.float32, "contiguous", 60.0),
    ((12, 513), torch.float16, "contiguous", 60.0),
    ((24, 700), torch.float32, "sliced", 2.0),
    ((40, 96), torch.float16, "transposed", 2.0),
]


def reference(x):
    return torch.softmax(x, dim=-1)


def cases(gen: torch.Generator):
    out = []
    for shape, dtype, layout, scale in SHAPES:
        x = randn(shape, dtype, gen, scale=scale, layout=layout)
        name = describe(x) + (", large values" if scale > 10 else "")
        out.append(make_case(name, reference, (x,)))
    return out
