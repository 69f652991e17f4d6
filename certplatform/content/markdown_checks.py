"""Checks on lesson Markdown and assets: internal links, images, raw HTML, unsafe or oversized assets."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from certplatform.content.tree import ContentError

MAX_ASSET_BYTES = 1024 * 1024
_SVG_DANGERS = (
    (re.compile(rb"<script", re.IGNORECASE), "a <script> element"),
    (re.compile(rb"\son[a-z]+\s*=", re.IGNORECASE), "an on* event-handler attribute"),
    (re.compile(rb"javascript:", re.IGNORECASE), "a javascript: URL"),
)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark")
    # markdown-it silently turns `[x](javascript:...)` into plain text; let every target through so it is
    # reported here instead of quietly vanishing from the page.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_MD = _parser()


def check_lesson_markdown(
    text: str, file: str, lesson_dir: str, lesson_dirs: frozenset[str], assets: frozenset[str]
) -> list[ContentError]:
    """Errors in one lesson body.

    `file` and `lesson_dir` are relative to the content root (`courses/l1/01-x/02-y`); `lesson_dirs` holds
    every lesson folder listed in some module, in the same form; `assets` the files in the lesson's `assets/`.
    """
    errors: list[ContentError] = []
    for token, line in _tokens_with_lines(_MD.parse(text)):
        if token.type in ("html_block", "html_inline"):
            snippet = token.content.strip().splitlines()[0][:60] if token.content.strip() else token.content
            errors.append(ContentError(file, line, f"raw HTML is not allowed in lessons: {snippet!r}"))
        elif token.type in ("link_open", "image"):
            attr = "href" if token.type == "link_open" else "src"
            target = str(token.attrs.get(attr, ""))
            problem = _check_target(target, token.type == "image", lesson_dir, lesson_dirs, assets)
            if problem:
                errors.append(ContentError(file, line, problem))
    return errors


def _tokens_with_lines(tokens: list[Token]) -> Iterator[tuple[Token, int | None]]:
    """Every block token and inline child with its 1-based line (children have no map: count line breaks)."""
    for token in tokens:
        line = token.map[0] + 1 if token.map else None
        yield token, line
        if token.type == "inline" and token.children:
            for child in token.children:
                yield child, line
                if child.type in ("softbreak", "hardbreak") and line is not None:
                    line += 1


def _check_target(
    target: str, image: bool, lesson_dir: str, lesson_dirs: frozenset[str], assets: frozenset[str]
) -> str | None:
    what = "image" if image else "link"
    if not target:
        return f"empty {what} target"
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    if parts.scheme or parts.netloc:
        return f"{what} to {target!r}: only http(s):// and relative links are allowed"
    if not parts.path:
        return None if parts.fragment and not image else f"{what} to {target!r} does not name a file"
    path = unquote(parts.path)
    if path.startswith("/"):
        return f"{what} to {target!r}: absolute paths are not allowed; link relative to the lesson folder"
    if parts.query:
        return f"{what} to {target!r}: internal links cannot carry a query string"
    resolved = posixpath.normpath(posixpath.join(lesson_dir, path))
    if resolved.startswith("../") or resolved == ".." or not resolved.startswith("courses/"):
        return f"{what} to {target!r} leaves the courses/ tree"
    own_assets = f"{lesson_dir}/assets/"
    if resolved.startswith(own_assets) and not path.endswith("/"):
        if resolved.removeprefix(own_assets) in assets:
            return None
        return f"broken {what}: {target!r} is not a file in this lesson's assets/"
    if not image and resolved in lesson_dirs:
        return None
    if image:
        return f"broken image: {target!r} must be a file in this lesson's assets/ or an http(s):// URL"
    return f"broken link: {target!r} is neither a lesson listed in a module nor a file in this lesson's assets/"


def list_assets(assets_dir: Path) -> list[str]:
    """Files under a lesson's `assets/`, as posix paths relative to it."""
    if not assets_dir.is_dir():
        return []
    return sorted(p.relative_to(assets_dir).as_posix() for p in assets_dir.rglob("*") if p.is_file())


def check_asset(path: Path, file: str) -> list[ContentError]:
    """Errors in one asset file: too large, or an SVG that could run script when opened."""
    size = path.stat().st_size
    if size > MAX_ASSET_BYTES:
        return [ContentError(file, None, f"asset is {size} bytes; the limit is {MAX_ASSET_BYTES} (1 MiB)")]
    if path.suffix.lower() != ".svg":
        return []
    data = path.read_bytes()
    errors = []
    for pattern, what in _SVG_DANGERS:
        match = pattern.search(data)
        if match:
            line = data.count(b"\n", 0, match.start()) + 1
            errors.append(ContentError(file, line, f"SVG contains {what}; SVG assets must not carry script"))
    return errors
