"""Kernels written the way real Triton code is written (the tutorials, FlagGems, attorch, Liger-Kernel), graded on
the L1 exam's own hidden tests: all must pass. Variants with one defect each must fail, or be rejected, for the
right reason and with a message that says which."""

from __future__ import annotations

import pytest
from gradelib.results import FAILED, PASSED, REJECTED

from .conftest import EXAM

# attorch style: every loaded block is `input`, the running sum is `sum`, eps is cast with `.to()`, several
# autotune configs over num_warps, and the output comes from `x.new_empty`.
RMS_NORM = """
import torch
import triton
import triton.language as tl


@triton.autotune(
    configs=[triton.Config({}, num_warps=2), triton.Config({}, num_warps=4), triton.Config({}, num_warps=8)],
    key=["feat_dim"],
)
@triton.jit
def rms_norm_forward_kernel(input_pointer, weight_pointer, output_pointer, feat_dim,
                            input_batch_stride, input_feat_stride, output_batch_stride, eps,
                            BLOCK_SIZE_FEAT: tl.constexpr):
    batch = tl.program_id(axis=0)
    feat_offset = tl.arange(0, BLOCK_SIZE_FEAT)
    input_row = input_pointer + batch * input_batch_stride
    sum = tl.zeros([BLOCK_SIZE_FEAT], dtype=tl.float32)
    for start in range(0, feat_dim, BLOCK_SIZE_FEAT):
        offset = start + feat_offset
        input = tl.load(input_row + offset * input_feat_stride, mask=offset < feat_dim, other=0.0).to(tl.float32)
        sum += input * input
    inv_rms = 1.0 / tl.sqrt(tl.sum(sum, axis=0) / feat_dim + eps.to(tl.float32))
    for start in range(0, feat_dim, BLOCK_SIZE_FEAT):
        offset = start + feat_offset
        filter = offset < feat_dim
        input = tl.load(input_row + offset * input_feat_stride, mask=filter, other=0.0).to(tl.float32)
        weight = tl.load(weight_pointer + offset, mask=filter, other=0.0).to(tl.float32)
        output = input * inv_rms * weight
        tl.store(output_pointer + batch * output_batch_stride + offset,
                 output.to(output_pointer.dtype.element_ty), mask=filter)


def rms_norm(input, weight, eps=1e-6):
    batch_dim, feat_dim = input.shape
    output = input.new_empty((batch_dim, feat_dim))
    if output.numel() == 0:
        return output
    weight = weight.contiguous()
    BLOCK_SIZE_FEAT = min(triton.next_power_of_2(feat_dim), 1024)
    rms_norm_forward_kernel[(batch_dim,)](input, weight, output, feat_dim, input.stride(0), input.stride(1),
                                          output.stride(0), eps, BLOCK_SIZE_FEAT=BLOCK_SIZE_FEAT)
    return output
"""

# Liger-Kernel style GELU: tanh written from exp, as libdevice-free math, in a @triton.jit helper; autotuned
# block sizes with a grid lambda; the output from torch.empty_like of a contiguous copy.
GELU = """
import math

import torch
import triton
import triton.language as tl


@triton.jit
def tanh(x):
    # tanh(x) = 2 * sigmoid(2x) - 1, stable for large |x|
    return 2.0 * tl.sigmoid(2.0 * x) - 1.0


@triton.autotune(
    configs=[triton.Config({"BLOCK_SIZE": 1024}), triton.Config({"BLOCK_SIZE": 2048}, num_warps=8),
             triton.Config({"BLOCK_SIZE": 512}, num_warps=2)],
    key=["n_elements"],
)
@triton.jit
def gelu_tanh_kernel(x_ptr, y_ptr, n_elements, sqrt_2_over_pi, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    c = sqrt_2_over_pi.to(tl.float32)
    y = 0.5 * x * (1.0 + tanh(c * (x + 0.044715 * x * x * x)))
    tl.store(y_ptr + offsets, y.to(y_ptr.dtype.element_ty), mask=mask)


def gelu(x):
    x = x.contiguous()
    y = torch.empty_like(x)
    n_elements = x.numel()
    if n_elements == 0:
        return y
    grid = lambda meta: (triton.cdiv(n_elements, meta["BLOCK_SIZE"]),)
    gelu_tanh_kernel[grid](x, y, n_elements, math.sqrt(2.0 / math.pi))
    return y
"""

# FlagGems style softmax: names `max`, `sum`, `filter`, `input`; output from torch.ones_like (then overwritten).
SOFTMAX = """
import torch
import triton
import triton.language as tl


@triton.jit
def softmax_kernel(output_ptr, input_ptr, n_cols, input_row_stride, input_col_stride, output_row_stride,
                   BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK_N)
    input_row = input_ptr + row * input_row_stride
    max = tl.full([BLOCK_N], float("-inf"), tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        input = tl.load(input_row + offs * input_col_stride, mask=offs < n_cols, other=float("-inf"))
        max = tl.maximum(max, input.to(tl.float32))
    row_max = tl.max(max, axis=0)
    sum = tl.zeros([BLOCK_N], tl.float32)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        filter = offs < n_cols
        input = tl.load(input_row + offs * input_col_stride, mask=filter, other=float("-inf")).to(tl.float32)
        sum += tl.where(filter, tl.exp(input - row_max), 0.0)
    denom = tl.sum(sum, axis=0)
    for start in range(0, n_cols, BLOCK_N):
        offs = start + cols
        filter = offs < n_cols
        input = tl.load(input_row + offs * input_col_stride, mask=filter, other=float("-inf")).to(tl.float32)
        out = tl.exp(input - row_max) / denom
        tl.store(output_ptr + row * output_row_stride + offs, out.to(output_ptr.dtype.element_ty), mask=filter)


def softmax(x):
    n_rows, n_cols = x.shape
    out = torch.ones_like(x, memory_format=torch.contiguous_format)
    if out.numel() == 0:
        return out
    BLOCK_N = min(triton.next_power_of_2(n_cols), 2048)
    softmax_kernel[(n_rows,)](out, x, n_cols, x.stride(0), x.stride(1), out.stride(0), BLOCK_N=BLOCK_N)
    return out
"""

# The Triton tutorial's grouped matmul with several autotune configs, `a.new_zeros` for the output.
MATMUL = """
import torch
import triton
import triton.language as tl


@triton.autotune(
    configs=[
        triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8}, num_stages=3, num_warps=4),
        triton.Config({"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_K": 64, "GROUP_M": 4}, num_stages=4, num_warps=4),
    ],
    key=["M", "N", "K"],
)
@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = tl.minimum(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    accumulator = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        ks = k * BLOCK_K + offs_k
        a = tl.load(a_ptr + offs_m[:, None] * stride_am + ks[None, :] * stride_ak,
                    mask=(offs_m[:, None] < M) & (ks[None, :] < K), other=0.0)
        b = tl.load(b_ptr + ks[:, None] * stride_bk + offs_n[None, :] * stride_bn,
                    mask=(ks[:, None] < K) & (offs_n[None, :] < N), other=0.0)
        accumulator += tl.dot(a.to(tl.float32), b.to(tl.float32))
    c = accumulator.to(c_ptr.dtype.element_ty)
    tl.store(c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn, c,
             mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))


def matmul(a, b):
    M, K = a.shape
    K, N = b.shape
    c = a.new_zeros((M, N))
    if M == 0:
        return c
    grid = lambda META: (triton.cdiv(M, META["BLOCK_M"]) * triton.cdiv(N, META["BLOCK_N"]),)
    matmul_kernel[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                        c.stride(0), c.stride(1))
    return c
"""

REAL_WORLD = {"rms_norm": RMS_NORM, "gelu": GELU, "softmax": SOFTMAX, "matmul": MATMUL}


def grade_task(grade_source, task: str, source: str, seed: int = 11):
    return grade_source(source, tests_dir=EXAM / "tasks" / task / "tests", wall_seconds=150, seed=seed)


@pytest.mark.parametrize("task", sorted(REAL_WORLD))
def test_real_world_style_kernels_pass(grade_source, task):
    result = grade_task(grade_source, task, REAL_WORLD[task])
    assert result.status == PASSED and result.score == 1.0, result


def test_matmul_with_operands_rounded_to_fp16_fails_every_fp32_case(grade_source):
    source = MATMUL.replace(
        "tl.dot(a.to(tl.float32), b.to(tl.float32))",
        "tl.dot(a.to(tl.float16).to(tl.float32), b.to(tl.float16).to(tl.float32))",
    )
    result = grade_task(grade_source, "matmul", source)
    assert result.status == FAILED
    fp32 = [t for t in result.tests if t.name.startswith("fp32") and not t.name.startswith("fp32 (0,")]
    assert fp32 and not any(t.passed for t in fp32), [(t.name, t.message) for t in fp32]
    assert all("differ beyond the tolerance" in t.message for t in fp32)
    assert all(t.passed for t in result.tests if t.name.startswith("fp16"))


def test_a_wrapper_that_skips_its_kernel_for_small_rows_keeps_credit_for_the_rest(grade_source):
    source = RMS_NORM.replace(
        "    weight = weight.contiguous()",
        "    if feat_dim < 128:\n        return output\n    weight = weight.contiguous()",
    )
    result = grade_task(grade_source, "rms_norm", source)
    assert result.status == FAILED and 0 < result.score < 1, result
    skipped = [t for t in result.tests if not t.passed]
    assert skipped and all("no Triton kernel ran for this case" in t.message for t in skipped)
    assert not any("not run" in t.message for t in result.tests)


def test_an_autotune_config_that_does_not_run_fails_naming_the_config(grade_source):
    # 96 is not a power of two: tl.arange refuses it, in compiled Triton as in the interpreter.
    source = GELU.replace('triton.Config({"BLOCK_SIZE": 512}, num_warps=2)', 'triton.Config({"BLOCK_SIZE": 96})')
    result = grade_task(grade_source, "gelu", source)
    assert result.status == FAILED, result
    failed = [t for t in result.tests if not t.passed]
    assert failed and all("autotune config BLOCK_SIZE: 96" in t.message for t in failed), failed


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("    x = x.contiguous()", "    x = eval('x.contiguous()')", "use of the builtin 'eval' is not allowed (rule:"),
        ("    y = torch.empty_like(x)", "    y = torch.tanh(x)", "torch.tanh is not allowed outside a kernel (rule:"),
    ],
)
def test_rule_breaks_are_rejected_naming_the_rule(grade_source, old, new, rule):
    result = grade_task(grade_source, "gelu", GELU.replace(old, new))
    assert result.status == REJECTED and result.score == 0.0
    assert rule in result.message
    assert result.parts and result.parts[0]["code"] == "scan.rules_broken"
