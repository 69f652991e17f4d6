"""Hidden tests for matmul(a, b): (M, K) @ (K, N), fp32 accumulation. fp16 uses FlagGems' tolerance (atol scales
with K); fp32 is held to the error bound of fp32 arithmetic, so a computation in lower precision fails it."""
import torch

from gradelib.triton_cases import make_case, randn

KIND = "triton_op"
ENTRY = "matmul"
CALL_SECONDS = 60

# (M, K, N, dtype, layout of a, layout of b)
SHAPES = [
    (1, 1, 1, torch.float32, "contiguous", "contiguous"),
    (127, 33, 129, torch.float32, "contiguous", "contiguous"),
    (129, 127, 65, torch.float16, "contiguous", "contiguous"),
    (100, 1000, 64, torch.float32, "contiguous", "contiguous"),
    (200, 96, 200, torch.float16, "contiguous", "contiguous"),
    (4, 4097, 16, torch.float32, "contiguous", "contiguous"),
    (0, 16, 8, torch.float32, "contiguous", "contiguous"),
    (64, 80, 96, torch.float32, "transposed", "transposed"),
    (70, 50, 30, torch.float16, "sliced", "transposed"),
]


def reference(a, b):
    return a @ b


def magnitude(a, b):
    """sum_k |a_ik| * |b_kj|: what the fp32 error bound of each output element scales with."""
    return a.abs() @ b.abs()


def cases(gen: torch.Generator):
    out = []
    for m, k, n, dtype, layout_a, layout_b in SHAPES:
        a = randn((m, k), dtype, gen, layout=layout_a)
        b = randn((k, n), dtype, gen, layout=layout_b)
        short = "fp16" if dtype == torch.float16 else "fp32"
        layout = "" if a.is_contiguous() and b.is_contiguous() else ", non-contiguous"
        out.append(make_case(f"{short} ({m}, {k}) @ ({k}, {n}){layout}", reference, (a, b), reduce_dim=k,
                             magnitude=magnitude))
    return out
