"""Wrong: starts every block list at 8 (the interpreter accepts it), below the chip's dot minimum."""

# expect: failed < dot_min

import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile

SMALL_M = 16  # rows of a decode-like call: one tile of dot_min rows covers them
ACC_BYTES = 4  # the fp32 accumulator tile


@triton.jit
def mm_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
              stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid = tl.program_id(axis=0)
    grid_n = tl.cdiv(N, BLOCK_N)
    pid_m = pid // grid_n
    pid_n = pid % grid_n
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, K, BLOCK_K):
        ks = k + offs_k
        a = tl.load(a_ptr + offs_m[:, None] * stride_am + ks[None, :] * stride_ak,
                    mask=(offs_m[:, None] < M) & (ks[None, :] < K), other=0.0)
        b = tl.load(b_ptr + ks[:, None] * stride_bk + offs_n[None, :] * stride_bn,
                    mask=(ks[:, None] < K) & (offs_n[None, :] < N), other=0.0)
        acc += tl.dot(a.to(tl.float32), b.to(tl.float32))
    tl.store(c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn, acc.to(c_ptr.dtype.element_ty),
             mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))


def _powers_of_two(low: int, high: int) -> list[int]:
    out = []
    value = low
    while value <= high:
        out.append(value)
        value *= 2
    return out


def footprint(meta: dict, elem: int, stages: int) -> int:
    """(BM*BK + BK*BN) * elem * stages + BM*BN * 4: the staged A and B tiles plus the fp32 accumulator."""
    bm, bn, bk = meta["BLOCK_M"], meta["BLOCK_N"], meta["BLOCK_K"]
    return (bm * bk + bk * bn) * elem * stages + bm * bn * ACC_BYTES


def _warps(profile: ChipProfile, tile: int) -> dict:
    """num_warps for a BM*BN tile: omitted where the chip ignores it, else the largest allowed count whose
    threads fit the program and hold at least 8 accumulator elements each."""
    if profile.warps_ignored:
        return {}
    fitting = [w for w in profile.allowed_num_warps if w * profile.warp_size <= profile.max_threads_per_program]
    useful = [w for w in fitting if w * profile.warp_size * 8 <= tile]
    return {"num_warps": max(useful or [min(fitting)])}


def tune_table(profile: ChipProfile, elem: int) -> dict[str, list[dict]]:
    """{bucket: [config, ...]} as in tune_configs.yaml (`META`, `num_warps`, `num_stages`), every block list a
    power-of-two range from the chip's dot minimum, pruned to what the chip holds: each 2-D tile within
    max_block_numel, the footprint within onchip_bytes. "mm_small_m" keeps BLOCK_M at the dot minimum."""
    dm, dn, dk = 8, 8, 8
    cap = profile.max_block_numel
    configs = []
    for bm in _powers_of_two(dm, cap):
        for bn in _powers_of_two(dn, cap):
            for bk in _powers_of_two(dk, cap):
                if max(bm * bk, bk * bn, bm * bn) > cap:
                    continue
                meta = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk}
                for stages in range(1, profile.num_stages_max + 1):
                    if footprint(meta, elem, stages) <= profile.onchip_bytes:
                        configs.append({"META": meta, **_warps(profile, bm * bn), "num_stages": stages})
    return {"mm_small_m": [c for c in configs if c["META"]["BLOCK_M"] == 8], "mm": configs}


def _programs(M: int, N: int, meta: dict) -> int:
    return triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"])


def mm_config(M: int, N: int, K: int, dtype: torch.dtype, profile: ChipProfile) -> dict:
    """The config for one shape: the bucket of M, then the wave rule (enough programs for every compute unit
    whenever dot_min tiles would give that many), then the biggest tile (reuse), the deepest K step and the
    most stages. Large M prefers tiles taller than the dot minimum: each B tile then serves more rows."""
    elem = torch.empty((), dtype=dtype).element_size()
    table = tune_table(profile, elem)
    dm, dn, _ = profile.dot_min
    candidates = table["mm_small_m"] if M <= SMALL_M else table["mm"]
    # Tiles larger than the shape only waste the chip (the dot minimum is always allowed).
    limit_m, limit_n, limit_k = (max(d, triton.next_power_of_2(x)) for d, x in zip(profile.dot_min, (M, N, K)))
    candidates = [c for c in candidates
                  if c["META"]["BLOCK_M"] <= limit_m and c["META"]["BLOCK_N"] <= limit_n
                  and c["META"]["BLOCK_K"] <= limit_k]
    if triton.cdiv(M, dm) * triton.cdiv(N, dn) >= profile.compute_units:
        candidates = [c for c in candidates if _programs(M, N, c["META"]) >= profile.compute_units]
    taller = [c for c in candidates if c["META"]["BLOCK_M"] > dm]
    if M > SMALL_M and taller:
        candidates = taller

    def rank(c: dict):
        meta = c["META"]
        return (meta["BLOCK_M"] * meta["BLOCK_N"], meta["BLOCK_K"], c["num_stages"], meta["BLOCK_M"])

    return max(candidates, key=rank)


def mm(a: torch.Tensor, b: torch.Tensor, *, profile: ChipProfile) -> torch.Tensor:
    assert a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0], "mm expects (M, K) @ (K, N)"
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    if c.numel() == 0:
        return c
    config = mm_config(M, N, K, a.dtype, profile)
    meta = config["META"]
    options = {k: v for k, v in config.items() if k != "META"}
    mm_kernel[(_programs(M, N, meta),)](a, b, c, M, N, K,
                                       a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                                       **meta, **options)
    return c
