"""Hidden tests for portable_softmax(x, *, profile): row-wise softmax of a 2-D tensor on every public profile
and on this run's hidden profiles, each launch checked against the profile. Shapes/dtypes are public (prompt)."""

import torch

from gradelib.chips import chip_case, run_profiles, tile_footprint
from gradelib.triton_cases import describe, randn

KIND = "chip_profile"
ENTRY = "portable_softmax"
CALL_SECONDS = 30

# (shape, dtype, layout, scale): scale 60 makes exp overflow unless the row maximum is subtracted first. Every
# input has fewer than 2**16 elements (the smallest max_index), so the index-span rule never binds here.
SHAPES = [
    ((1, 1), torch.float32, "contiguous", 1.0),
    ((3, 16384), torch.float32, "contiguous", 3.0),
    ((5, 129), torch.float16, "contiguous", 1.0),
    ((2, 16384), torch.float16, "contiguous", 3.0),
    ((8, 1000), torch.float32, "contiguous", 60.0),
    ((12, 513), torch.float16, "contiguous", 60.0),
    ((24, 700), torch.float32, "sliced", 2.0),
    ((40, 96), torch.float16, "transposed", 2.0),
    ((0, 129), torch.float32, "contiguous", 1.0),
    ((6, 2048), torch.float32, "contiguous", 1.0),
]
PER_PROFILE = 3


def footprint(launch: dict) -> int:
    """BLOCK_N * elem * (2 + num_stages): elem is the widest floating-point argument's element size."""
    return tile_footprint(launch)


def reference(x):
    return torch.softmax(x, dim=-1)


def cases(gen: torch.Generator):
    out = []
    profiles = run_profiles(gen)
    # Every profile meets the longest rows; the other shapes rotate so that each appears on several profiles.
    rotation = [s for s in SHAPES if s[0][1] != 16384]
    for i, profile in enumerate(profiles):
        longest = SHAPES[1] if i % 2 == 0 else SHAPES[3]
        picked = [longest] + [rotation[(i * (PER_PROFILE - 1) + j) % len(rotation)] for j in range(PER_PROFILE - 1)]
        for shape, dtype, layout, scale in picked:
            x = randn(shape, dtype, gen, scale=scale, layout=layout)
            name = describe(x) + (", large values" if scale > 10 else "")
            out.append(chip_case(name, reference, (x,), profile, footprint=footprint))
    return out
