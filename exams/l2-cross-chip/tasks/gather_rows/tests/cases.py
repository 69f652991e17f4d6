"""Hidden tests for gather_rows(src, index, *, profile): out[i, :] = src[index[i], :] with an int64 index. On
chips without int64 the src tensor holds about 3.3 x max_index elements, so a single launch over it breaks the
index-span rule, and two shapes that no chunking can serve must raise ValueError (one of them with 2**31 + 1
rows of zero columns, one with rows of max_index elements but no rows: nothing is allocated)."""

import torch

from gradelib.chips import chip_case, exact_judge, run_profiles, tile_footprint
from gradelib.triton_cases import randn

KIND = "chip_profile"
ENTRY = "gather_rows"
CALL_SECONDS = 20


def footprint(launch: dict) -> int:
    """BLOCK_R * BLOCK_C * elem * (2 + num_stages): elem of the widest floating-point tensor argument."""
    return tile_footprint(launch)


def _index(gen, n_rows: int, n_out: int) -> torch.Tensor:
    index = torch.randint(0, max(n_rows, 1), (n_out,), generator=gen, dtype=torch.int64)
    if n_out >= 2 and n_rows >= 1:
        index[0], index[-1] = n_rows - 1, 0  # both ends of src, and (by chance) repeats in between
    return index


def _case(name, src, index, profile):
    expected = src.double()[index]
    return chip_case(
        f"{name}, index int64 ({index.numel()},)",
        None,
        (src, index),
        profile,
        expected=expected,
        out_dtype=src.dtype,
        footprint=footprint,
        judge=exact_judge,
    )


def cases(gen: torch.Generator):
    out = []
    for profile in run_profiles(gen):
        if "int64" in profile.dtypes:
            shapes = [
                ((5000, 64), torch.float32, 300, "contiguous"),
                ((700, 129), torch.float16, 64, "sliced"),
                ((1, 1), torch.float32, 1, "contiguous"),
                ((10, 8), torch.float32, 0, "contiguous"),
            ]
        else:
            big = profile.max_index * 10 // 3
            shapes = [
                ((big // 64 + 1, 64), torch.float32, 256, "contiguous"),
                ((big // 100 + 1, 100), torch.float16, 200, "contiguous"),
                ((3, 5), torch.float32, 7, "contiguous"),
            ]
        for (rows, cols), dtype, n_out, layout in shapes:
            src = randn((rows, cols), dtype, gen, layout=layout)
            note = "" if src.is_contiguous() else ", non-contiguous"
            out.append(_case(f"src {str(dtype)[6:]} ({rows}, {cols}){note}", src, _index(gen, rows, n_out), profile))
        if "int64" not in profile.dtypes:
            too_long = torch.empty((0, profile.max_index), dtype=torch.float16)
            out.append(
                chip_case(
                    f"rows of max_index elements (0, {profile.max_index})",
                    None,
                    (too_long, torch.zeros(0, dtype=torch.int64)),
                    profile,
                    expect_error="ValueError",
                    footprint=footprint,
                )
            )
            too_many = torch.empty((2**31 + 1, 0), dtype=torch.float32)
            huge_index = torch.tensor([0, 2**31], dtype=torch.int64)
            out.append(
                chip_case(
                    "src with 2**31 + 1 rows (of zero columns)",
                    None,
                    (too_many, huge_index),
                    profile,
                    expect_error="ValueError",
                    footprint=footprint,
                )
            )
    return out
