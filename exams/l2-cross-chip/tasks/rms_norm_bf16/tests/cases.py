"""Hidden tests for rms_norm_bf16(x_bits, w_bits, eps, *, profile): RMSNorm of bf16 data stored as int16 bits,
for chips without bf16 (every profile here lacks bf16, so a bf16 tensor reaching a kernel fails the case).
The output bits must be within bf16 tolerance of the float64 reference and equal torch's own fp32 -> bf16
round-to-nearest-even of the fp32 result on at least 99% of the elements (truncation gets about half)."""

import torch

from gradelib.chips import bf16_judge, chip_case, run_profiles, tile_footprint, without
from gradelib.triton_cases import randn

KIND = "chip_profile"
ENTRY = "rms_norm_bf16"
CALL_SECONDS = 30

# (shape, layout, scale, eps). Every input has fewer than 2**16 elements (the smallest max_index).
SHAPES = [
    ((1, 1), "contiguous", 1.0, 1e-6),
    ((4, 4096), "contiguous", 1.0, 1e-6),
    ((16, 768), "contiguous", 3.0, 1e-5),
    ((3, 5000), "contiguous", 1.0, 1e-6),
    ((8, 256), "sliced", 2.0, 1e-6),
    ((0, 64), "contiguous", 1.0, 1e-6),
    ((12, 128), "contiguous", 1e-3, 1e-3),
    ((32, 300), "contiguous", 1.0, 1e-6),
    ((6, 2048), "contiguous", 10.0, 1e-6),
]
PER_PROFILE = 3


def footprint(launch: dict) -> int:
    """BLOCK_N * 4 * (2 + num_stages): the tile is worked on in fp32 whatever the storage type."""
    return tile_footprint(launch, elem=4)


def reference(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * w


def cases(gen: torch.Generator):
    out = []
    judge = bf16_judge(0.99)
    profiles = [without(p, "bf16") for p in run_profiles(gen)]
    rotation = [s for s in SHAPES if s[0] != (4, 4096)]
    for i, profile in enumerate(profiles):
        picked = [SHAPES[1]] + [rotation[(i * (PER_PROFILE - 1) + j) % len(rotation)] for j in range(PER_PROFILE - 1)]
        for shape, layout, scale, eps in picked:
            x = randn(shape, torch.bfloat16, gen, scale=scale, layout=layout)
            w = (1.0 + 0.5 * torch.randn(shape[-1], generator=gen, dtype=torch.float64)).to(torch.bfloat16)
            xf, wf = x.float(), w.float()
            rounded = (xf * torch.rsqrt((xf * xf).mean(dim=-1, keepdim=True) + eps) * wf).to(torch.bfloat16)
            layout_note = "" if x.is_contiguous() else ", non-contiguous"
            name = f"bf16 bits {tuple(shape)}{layout_note}, eps={eps:g}" + (", small values" if scale < 1 else "")
            out.append(
                chip_case(
                    name,
                    None,
                    (x.view(torch.int16), w.view(torch.int16), eps),
                    profile,
                    expected=reference(x.double(), w.double(), eps),
                    out_dtype=torch.int16,
                    footprint=footprint,
                    judge=judge,
                    extra={"rounded": rounded.view(torch.int16)},
                )
            )
    return out
