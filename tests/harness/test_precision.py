"""fp32 tolerances come from the error bound of fp32 arithmetic: real Triton matmul kernels, run in the CPU
interpreter in this process, pass in any reduction order and fail when they compute in lower precision."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import triton
import triton.language as tl
from gradelib.triton_cases import compare, make_case, randn

from .conftest import EXAM


@triton.jit
def _matmul(
    a,
    b,
    c,
    M,
    N,
    K,
    sam,
    sak,
    sbk,
    sbn,
    scm,
    scn,
    BM: tl.constexpr,
    BN: tl.constexpr,
    BK: tl.constexpr,
    SPLIT: tl.constexpr,
    LOW: tl.constexpr,
):
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    cols = tl.program_id(1) * BN + tl.arange(0, BN)
    inner = tl.arange(0, BK)
    even = tl.zeros((BM, BN), dtype=tl.float32)
    odd = tl.zeros((BM, BN), dtype=tl.float32)
    for start in range(0, K, BK):
        ks = start + inner
        x = tl.load(
            a + rows[:, None] * sam + ks[None, :] * sak, mask=(rows[:, None] < M) & (ks[None, :] < K), other=0.0
        )
        y = tl.load(
            b + ks[:, None] * sbk + cols[None, :] * sbn, mask=(ks[:, None] < K) & (cols[None, :] < N), other=0.0
        )
        if LOW == 1:  # the defect: operands rounded to fp16 before an fp32 dot
            x = x.to(tl.float16).to(tl.float32)
            y = y.to(tl.float16).to(tl.float32)
        if LOW == 2:
            x = x.to(tl.bfloat16).to(tl.float32)
            y = y.to(tl.bfloat16).to(tl.float32)
        if SPLIT and (start // BK) % 2 == 1:  # split-K: two partial sums, added at the end
            odd += tl.dot(x, y)
        else:
            even += tl.dot(x, y)
    tl.store(c + rows[:, None] * scm + cols[None, :] * scn, even + odd, mask=(rows[:, None] < M) & (cols[None, :] < N))


def run(a, b, block_k=32, split=False, low=0):
    m, k = a.shape
    n = b.shape[1]
    c = torch.empty((m, n), dtype=a.dtype)
    grid = (triton.cdiv(m, 32), triton.cdiv(n, 32))
    _matmul[grid](
        a,
        b,
        c,
        m,
        n,
        k,
        a.stride(0),
        a.stride(1),
        b.stride(0),
        b.stride(1),
        c.stride(0),
        c.stride(1),
        BM=32,
        BN=32,
        BK=block_k,
        SPLIT=split,
        LOW=low,
    )
    return c


def _matmul_cases():
    spec = importlib.util.spec_from_file_location("matmul_cases", EXAM / "tasks" / "matmul" / "tests" / "cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHAPES = [(1, 1, 1), (16, 2, 16), (127, 33, 129), (64, 80, 96), (100, 1000, 64), (4, 4097, 16)]


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_fp32_error_bound_passes_every_reduction_order_and_fails_lower_precision(m, k, n):
    cases = _matmul_cases()
    gen = torch.Generator().manual_seed(1000 + k)
    a, b = randn((m, k), torch.float32, gen), randn((k, n), torch.float32, gen)
    case = make_case("fp32", cases.reference, (a, b), reduce_dim=k, magnitude=cases.magnitude)
    for block_k, split in ((16, False), (32, False), (128, False), (16, True)):
        passed, message = compare(run(a, b, block_k, split), case)
        assert passed, (block_k, split, str(message))
    for low in (1, 2):
        passed, message = compare(run(a, b, low=low), case)
        assert not passed and message.code == "test.mismatch", (low, str(message))


def test_flaggems_atol_alone_let_fp16_operands_through():
    # Why the bound exists: with atol = 1e-4 * K, the fp16-rounded kernel passes the long-K case.
    gen = torch.Generator().manual_seed(7)
    a, b = randn((4, 4097), torch.float32, gen), randn((4097, 16), torch.float32, gen)
    flag_gems_style = make_case("fp32", lambda x, y: x @ y, (a, b), reduce_dim=4097)
    assert compare(run(a, b, low=1), flag_gems_style)[0]


def test_fp16_matmul_keeps_the_flaggems_tolerance():
    gen = torch.Generator().manual_seed(3)
    a, b = randn((64, 80), torch.float16, gen), randn((80, 96), torch.float16, gen)
    cases = _matmul_cases()
    case = make_case("fp16", cases.reference, (a, b), reduce_dim=80, magnitude=cases.magnitude)
    assert not case.bounded and case.atol() == pytest.approx(1e-4 * 80)
    assert compare(run(a.float(), b.float()).half(), case)[0]
