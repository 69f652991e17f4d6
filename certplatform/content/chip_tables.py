"""The chip profile tables in Markdown (lessons and task prompts), written from the harness like the profile files.

A table lives in a generated region between two lines that CommonMark reads as unused link reference definitions,
so no page shows them (an HTML comment would be escaped and shown: lessons are rendered with raw HTML off):

    [//]: # (begin chip-profiles table "profiles": ...)
    ...
    [//]: # (end chip-profiles table)

Kinds: "profiles" (the public profiles, one row each) and "hidden-ranges" (what a hidden profile of each family
draws; in a task folder, with the task's own ranges: `RANGES` in its tests/cases.py, which the grader passes to
`run_profiles`). The language comes from the file name (`*.en.md`, `*.zh.md`). `certplatform content
chip-profiles` rewrites every region (a new one needs only its two marker lines, after a blank line, the first
up to the kind); the validator reports every region that differs, and every copy of a generated table written
by hand outside one.
"""

from __future__ import annotations

import ast
import operator
import re
from itertools import zip_longest
from pathlib import Path

from certplatform.content.tree import ContentError
from certplatform.sandbox.harness_data import load

_BEGIN = (
    '[//]: # (begin chip-profiles table "{kind}": written from sandboxes/harness/chipprofile.py by'
    " `certplatform content chip-profiles`, edit there)"
)
_END = "[//]: # (end chip-profiles table)"
_BEGIN_RE = re.compile(r'^\[//\]: # \(begin chip-profiles table "(?P<kind>[^"]*)"')
_WRITE = "run `certplatform content chip-profiles` to write it from sandboxes/harness/chipprofile.py"
DASH = "\u2013"

_WORDS = {
    "en": {
        "profile": "profile",
        "ignored": "ignored",
        "all": "all six",
        "no": "no ",
        "and": ", ",
        "last and": " and ",
        "family": "family",
        "drawn": "drawn for every run",
        "this task": " (this task)",
        "pow2 note": "Only powers of two are drawn for {fields}; the other fields take any integer in their range.",
        "pow2 cell": " (powers of two)",
    },
    "zh": {
        "profile": "画像",
        "ignored": "忽略",
        "all": "全部六种",
        "no": "无 ",
        "and": "、",
        "last and": " 和 ",
        "family": "系列",
        "drawn": "每次评测抽取",
        "this task": "（本题）",
        "pow2 note": "{fields} 只取范围内 2 的幂，其余字段取范围内的任意整数。",
        "pow2 cell": "（2 的幂）",
    },
}
_RANGE_SEPARATOR = {"en": ", ", "zh": "，"}


def _kib(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"


def _power(n: int) -> str:
    """2^31 for a power of two from 2^10 up, else the number."""
    return f"2^{n.bit_length() - 1}" if n >= 1024 and n & (n - 1) == 0 else str(n)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _dtypes(dtypes: frozenset[str], words: dict[str, str]) -> str:
    every = load("chipprofile").DTYPES
    present = [d for d in every if d in dtypes]
    missing = [d for d in every if d not in dtypes]
    if not missing:
        if len(every) != 6:
            raise ValueError("the 'all six' wording needs chipprofile.DTYPES to hold six dtypes")
        return words["all"]
    if len(missing) < len(present):
        return words["no"] + words["and"].join(missing)
    return words["and"].join(present)


def profiles_table(lang: str) -> list[str]:
    """The public profiles, one row each, in the lesson's columns."""
    words = _WORDS[lang]
    columns = [words["profile"], "warp_size", "allowed_num_warps", "max_threads", "onchip_bytes"]
    columns += ["max_block_numel", "compute_units", "dtypes", "max_index"]
    lines = [_row(columns), _row(["---"] * len(columns))]
    for p in load("chipprofile").PUBLIC_PROFILES.values():
        warps = words["ignored"] if p.allowed_num_warps is None else ", ".join(map(str, p.allowed_num_warps))
        cells = [f"`{p.name}`", str(p.warp_size), warps, str(p.max_threads_per_program), _kib(p.onchip_bytes)]
        cells += [str(p.max_block_numel), str(p.compute_units), _dtypes(p.dtypes, words), _power(p.max_index)]
        lines.append(_row(cells))
    return lines


def hidden_ranges_table(lang: str, task_ranges: dict) -> list[str]:
    """What a hidden profile of each family draws (with a task's own ranges over the defaults), then which
    ranges hold powers of two."""
    words = _WORDS[lang]
    defaults = load("chipprofile").HIDDEN_RANGES
    ranges = {family: {**fields, **task_ranges.get(family, {})} for family, fields in defaults.items()}
    draws: dict[str, set[str]] = {}  # field -> how its families draw it: one note for the fields always pow2
    for fields in ranges.values():
        for field, (how, _, _) in fields.items():
            draws.setdefault(field, set()).add(how)
    always_pow2 = [field for field, hows in draws.items() if hows == {"pow2"}]
    drawn = words["drawn"] + (words["this task"] if ranges != defaults else "")
    lines = [_row([words["family"], drawn]), "|---|---|"]
    for family, fields in ranges.items():
        parts = []
        for field, (how, low, high) in fields.items():
            span = (
                f"{low // 1024}{DASH}{high // 1024} KiB"
                if field.endswith("_bytes") and low % 1024 == high % 1024 == 0
                else f"{low}{DASH}{high}"
            )
            note = words["pow2 cell"] if how == "pow2" and field not in always_pow2 else ""
            parts.append(f"{field} {span}{note}")
        lines.append(_row([f"`{family}`", _RANGE_SEPARATOR[lang].join(parts)]))
    if always_pow2:
        *most, last = always_pow2
        fields = words["and"].join(most) + words["last and"] + last if most else last
        lines += ["", words["pow2 note"].format(fields=fields)]
    return lines


# ---- the task's own ranges -------------------------------------------------------------------------------------

_OPERATORS = {ast.LShift: operator.lshift, ast.Mult: operator.mul, ast.Pow: operator.pow, ast.Add: operator.add}


def _literal(node: ast.AST):
    """A RANGES value: dicts, tuples, strings and integers, with << * ** + between integers."""
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e) for e in node.elts)
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return _OPERATORS[type(node.op)](left, right)
    raise ValueError(f"line {getattr(node, 'lineno', '?')}: not a plain literal")


def task_ranges(task: Path) -> dict:
    """The task's own hidden ranges (`RANGES = {...}` at the top of tests/cases.py), read without running it
    (it needs torch and the harness); {} when it has none."""
    cases = task / "tests" / "cases.py"
    if not cases.is_file():
        return {}
    try:
        tree = ast.parse(cases.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise ValueError(f"tests/cases.py does not parse: {exc.msg} (line {exc.lineno})") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "RANGES" for t in node.targets):
            try:
                return _literal(node.value)
            except ValueError as exc:
                raise ValueError(f"RANGES in tests/cases.py, {exc}") from None
    return {}


# ---- the regions ---------------------------------------------------------------------------------------------

_KINDS = ("profiles", "hidden-ranges")


def _lang(path: Path) -> str | None:
    suffixes = path.name.split(".")
    return suffixes[-2] if len(suffixes) >= 3 and suffixes[-2] in _WORDS else None


def _table(kind: str, path: Path) -> list[str]:
    lang = _lang(path)
    if lang is None:
        raise ValueError("a generated table needs a file named *.en.md or *.zh.md")
    if kind == "profiles":
        return profiles_table(lang)
    if kind == "hidden-ranges":
        return hidden_ranges_table(lang, task_ranges(path.parent))
    raise ValueError(f"unknown table {kind!r}; known: {', '.join(_KINDS)}")


class TableError(ValueError):
    """A region that cannot be written (unclosed, unknown kind, ...), at the line of its begin marker."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message


def expected_text(path: Path, text: str) -> str:
    """`text` with every region rewritten from the harness."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _BEGIN_RE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        if out and out[-1].strip():
            raise TableError(i + 1, "a blank line must come before a generated table, or its marker line shows")
        try:
            end = lines.index(_END, i + 1)
        except ValueError:
            raise TableError(i + 1, f"the generated table is not closed by {_END!r}") from None
        try:
            table = _table(match["kind"], path)
        except ValueError as exc:
            raise TableError(i + 1, str(exc)) from None
        out += [_BEGIN.format(kind=match["kind"]), "", *table, "", _END]
        i = end + 1
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _has_region(lines: list[str]) -> bool:
    return any(_BEGIN_RE.match(line) for line in lines)


def markdown_files(root: Path) -> list[Path]:
    """Every Markdown file under root/courses and root/exams."""
    return sorted(p for top in ("courses", "exams") for p in (root / top).rglob("*.md") if p.is_file())


def write_tables(root: Path, rel) -> tuple[list[Path], list[ContentError]]:
    """Rewrite the regions of every Markdown file under root: the files that changed, and the ones that could
    not be written."""
    changed, errors = [], []
    for path in markdown_files(root):
        text = path.read_text(encoding="utf-8")
        if not _has_region(text.splitlines()):
            continue
        try:
            new = expected_text(path, text)
        except TableError as exc:
            errors.append(ContentError(rel(path), exc.line, f"generated chip profile table: {exc.message}"))
            continue
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed, errors


def _generated_header(header: str) -> bool:
    """Whether a table's header row is one of the generated tables' (in either language)."""
    cells = {cell.strip() for cell in header.split("|")}
    return "allowed_num_warps" in cells or any(w["drawn"] in header for w in _WORDS.values())


def _hand_written_rows(lines: list[str]) -> list[int]:
    """The first line (1-based) of a public profile's row in each table outside the regions headed like a
    generated one: a copy that nothing would keep up to date. (Other tables by chip, of choices or results, are
    fine.)"""
    names = load("chipprofile").PUBLIC_PROFILES
    found: list[int] = []
    inside, header, reported = False, None, False
    for number, line in enumerate(lines, start=1):
        if _BEGIN_RE.match(line):
            inside = True
        elif line == _END:
            inside = False
        elif not inside and line.startswith("|"):
            if header is None:
                header, reported = line, False
            if not reported and line.split("|")[1].strip().strip("`") in names and _generated_header(header):
                found.append(number)
                reported = True
            continue
        header = None
    return found


def check_tables(root: Path, rel) -> list[ContentError]:
    """An error for every region that differs from what the command writes, and for every hand-written row."""
    errors = []
    for path in markdown_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the loader reports unreadable lessons and prompts
        lines = text.splitlines()
        for number in _hand_written_rows(lines):
            message = f"a chip profile table written by hand: put it in a generated region and {_WRITE}"
            errors.append(ContentError(rel(path), number, message))
        if not _has_region(lines):
            continue
        try:
            want = expected_text(path, text).splitlines()
        except TableError as exc:
            errors.append(ContentError(rel(path), exc.line, f"generated chip profile table: {exc.message}"))
            continue
        for number, (got, expected) in enumerate(zip_longest(lines, want), start=1):
            if got != expected:
                what = "an extra line" if expected is None else f"expected {expected!r}"
                message = f"differs from the generated chip profile table: {what}; {_WRITE}"
                errors.append(ContentError(rel(path), number, message))
                break
    return errors
