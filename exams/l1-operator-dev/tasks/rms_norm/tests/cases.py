"""Hidden tests for rms_norm(x, weight, eps=1e-6) over the last dimension of a 2-D tensor."""
import torch

from gradelib.triton_cases import describe, make_case, randn

KIND = "triton_op"
ENTRY = "rms_norm"
CALL_SECONDS = 60

# (shape, dtype, layout, scale, eps): eps None means the default is used (argument omitted); small inputs with a
# large eps make eps matter.
SHAPES = [
    ((1, 1), torch.float32, "contiguous", 1.0, None),
    ((3, 127), torch.float32, "contiguous", 1.0, None),
    ((5, 129), torch.float16, "contiguous", 1.0, None),
    ((32, 1000), torch.float32, "contiguous", 3.0, 1e-5),
    ((8, 4097), torch.float16, "contiguous", 1.0, None),
    ((4, 16384), torch.float32, "contiguous", 1.0, None),
    ((0, 64), torch.float32, "contiguous", 1.0, None),
    ((16, 256), torch.float32, "contiguous", 1e-3, 1e-3),
    ((24, 700), torch.float16, "sliced", 2.0, 1e-5),
    ((40, 96), torch.float32, "transposed", 1.0, None),
]


def reference(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def cases(gen: torch.Generator):
    out = []
    for shape, dtype, layout, scale, eps in SHAPES:
        x = randn(shape, dtype, gen, scale=scale, layout=layout)
        weight = (1.0 + 0.5 * torch.randn(shape[-1], generator=gen, dtype=torch.float64)).to(dtype)
        kwargs = {} if eps is None else {"eps": eps}
        name = describe(x) + ("" if eps is None else f", eps={eps:g}")
        out.append(make_case(name, reference, (x, weight), kwargs))
    return out
