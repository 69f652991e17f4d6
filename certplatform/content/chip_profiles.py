"""The profile files of a chip_profile exam (`exams/<exam>/profiles/<name>.yaml`), written from the harness.

The grader's `chipprofile` module (sandboxes/harness/chipprofile.py, shipped in the sandbox image) is the one
source of the public profiles and the ranges hidden ones are drawn from. Each profile file is that data rendered
for candidates to read: its own leading comment lines (a description of the family), then generated lines (where
they come from, the hidden ranges, the profile's fields). `certplatform content chip-profiles` writes the files;
the validator reports every file that differs from what it would write, so the file a candidate reads is the
graded profile. (The same data as Markdown tables in lessons and prompts: chip_tables.)
"""

from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

import yaml

from certplatform.content.tree import ContentError
from certplatform.sandbox.harness_data import load

KIND = "chip_profile"
FOLDER = "profiles"
_RANGES_PREFIX = "# Hidden profiles of this family keep every value below except: "
_SOURCE_LINE = (
    "# Below: chipprofile.HIDDEN_RANGES and PUBLIC_PROFILES (sandboxes/harness/chipprofile.py, which grades), written"
    " by `certplatform content chip-profiles`."
)
_WRITE = "run `certplatform content chip-profiles` to write it from sandboxes/harness/chipprofile.py"


def _value(value) -> str:
    if value is None:
        return "ignored"  # allowed_num_warps of a chip that ignores num_warps
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def ranges_line(family: str) -> str:
    ranges = load("chipprofile").HIDDEN_RANGES[family]
    parts = [
        f"{field} in [{low}, {high}]" + (" (a power of two)" if how == "pow2" else "")
        for field, (how, low, high) in ranges.items()
    ]
    return _RANGES_PREFIX + ", ".join(parts) + "."


def render(name: str, header: list[str]) -> str:
    """The file of public profile `name` under the hand-written comment lines `header`."""
    profile = load("chipprofile").PUBLIC_PROFILES[name]
    body = [f"{field}: {_value(value)}" for field, value in profile.to_wire().items()]
    return "\n".join([*header, _SOURCE_LINE, ranges_line(name), *body]) + "\n"


def _header(text: str) -> list[str]:
    """A file's own leading comment lines: the ones before its first field, without the generated ones."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line != _SOURCE_LINE and not line.startswith(_RANGES_PREFIX):
            lines.append(line)
    return lines


def expected_files(folder: Path) -> dict[Path, str]:
    """Every profile file of an exam folder as the harness would write it (keeping each existing file's header)."""
    out = {}
    for name in load("chipprofile").PUBLIC_PROFILES:
        path = folder / FOLDER / f"{name}.yaml"
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        out[path] = render(name, _header(current))
    return out


def exam_folders(root: Path) -> list[Path]:
    """The exams under root/exams with a chip_profile task (as their exam.yaml says, valid or not)."""
    out = []
    for path in sorted((root / "exams").glob("*/exam.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        tasks = data.get("tasks") if isinstance(data, dict) else None
        if any(isinstance(t, dict) and t.get("kind") == KIND for t in tasks or []):
            out.append(path.parent)
    return out


def write_files(folder: Path) -> list[Path]:
    """Write the profile files of an exam folder; return the ones that changed."""
    changed = []
    for path, text in expected_files(folder).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def check_files(folder: Path, rel) -> list[ContentError]:
    """Errors for profile files that are missing, differ from the harness, or name no public profile."""
    errors = []
    expected = expected_files(folder)
    for path, text in expected.items():
        if not path.is_file():
            errors.append(ContentError(rel(path), None, f"missing profile file: {_WRITE}"))
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, (got, want) in enumerate(zip_longest(lines, text.splitlines()), start=1):
            if got != want:
                what = "an extra line" if want is None else f"differs from the graded profile: expected {want!r}"
                errors.append(ContentError(rel(path), number, f"{what}; {_WRITE}"))
                break
    profiles = folder / FOLDER
    for path in sorted(profiles.glob("*")) if profiles.is_dir() else []:
        if path not in expected:
            message = "not a public profile of sandboxes/harness/chipprofile.py: the grader never uses it"
            errors.append(ContentError(rel(path), None, message))
    return errors
