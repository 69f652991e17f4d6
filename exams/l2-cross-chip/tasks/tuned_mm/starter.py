import torch
import triton
import triton.language as tl
from chipprofile import ChipProfile


@triton.jit
def mm_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
              stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    pid = tl.program_id(axis=0)
    # TODO: one program per (BLOCK_M, BLOCK_N) output tile (pid -> pid_m, pid_n); loop over K in BLOCK_K steps,
    # accumulate tl.dot of the masked A and B tiles in float32, store the tile in the output dtype.


def mm_config(M: int, N: int, K: int, dtype: torch.dtype, profile: ChipProfile) -> dict:
    # TODO: build a per-chip table in tune_configs.yaml shape ({"META": {...}, "num_warps", "num_stages"}) with a
    # bucket for M <= 16; prune it with the footprint (BM*BK + BK*BN)*elem*stages + BM*BN*4 <= onchip_bytes,
    # dot_min, max_block_numel, the allowed warps and num_stages_max; then apply the wave rule for this shape.
    return {"META": {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, "num_warps": 4, "num_stages": 2}


def mm(a: torch.Tensor, b: torch.Tensor, *, profile: ChipProfile) -> torch.Tensor:
    M, K = a.shape
    N = b.shape[1]
    c = torch.empty((M, N), dtype=a.dtype, device=a.device)
    config = mm_config(M, N, K, a.dtype, profile)
    meta = config["META"]
    # TODO: launch with exactly the config mm_config returned (num_warps only where the chip uses it).
    grid = (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)
    mm_kernel[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                    **meta)
    return c
