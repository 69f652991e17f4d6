"""Lesson Markdown to safe HTML: CommonMark, Pygments highlighting, internal links resolved, then nh3."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from certplatform.services.cjk_emphasis import cjk_emphasis_plugin

_FORMATTER = HtmlFormatter(nowrap=True)

ALLOWED_TAGS = {
    "a",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "hr",
    "br",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
    "del",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "span": {"class"},
    "ol": {"start"},
}


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes and wraps it as plain code
    return highlight(code, lexer, _FORMATTER)


_MD = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable("table").enable("strikethrough")
_MD.use(cjk_emphasis_plugin)

# Resolves a link found in a lesson: (normalised content path) -> URL, or None when it is not ours to serve.
Resolver = Callable[[str], str | None]


def _rewrite(href: str, base: str | None, resolve: Resolver | None) -> str | None:
    parts = urlsplit(href)
    if parts.scheme in {"http", "https"}:
        return href
    if parts.scheme or parts.netloc or href.startswith("/") or base is None or resolve is None:
        return None
    if not parts.path:  # "#section" on the same page
        return href if parts.fragment else None
    target = posixpath.normpath(posixpath.join(base, parts.path))
    url = resolve(target)
    if url is None:
        return None
    return url + (f"#{parts.fragment}" if parts.fragment else "")


def render(markdown: str, base: str | None = None, resolve: Resolver | None = None) -> str:
    """Safe HTML for `markdown`. Relative links are resolved against the folder `base` with `resolve`;
    links nobody can resolve lose their target rather than point somewhere unexpected."""
    tokens = _MD.parse(markdown)
    for token in tokens:
        for child in [token, *(token.children or [])]:
            attr = "href" if child.type == "link_open" else "src" if child.type == "image" else None
            if attr is None:
                continue
            new = _rewrite(str(child.attrGet(attr) or ""), base, resolve)
            if new is None:
                child.attrs.pop(attr, None)
            else:
                child.attrSet(attr, new)
    html = _MD.renderer.render(tokens, _MD.options, {})
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer",
    )


def render_inline(markdown: str) -> str:
    """Safe HTML for a one-line text such as a title or summary: code spans and emphasis, no blocks."""
    return nh3.clean(_MD.renderInline(markdown), tags={"code", "em", "strong"}, attributes={})


def code_html(code: str, anchor_prefix: str) -> str:
    """Highlighted Python with numbered lines, each an anchor `<prefix>-<n>` (for mentors' line comments)."""
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(linenos="inline", cssclass="codeview", lineanchors=anchor_prefix, anchorlinenos=True)
    return highlight(code, PythonLexer(), formatter)


def pygments_css(selector: str = ".prose pre code") -> str:
    """Token colours for highlighted code, scoped to lesson bodies (static/css/pygments.css is made from this)."""
    rules = [
        rule
        for sel in (selector, ".codeview")
        for rule in HtmlFormatter(style="friendly").get_style_defs(sel).splitlines()
        if rule.startswith(sel)
    ]
    return "\n".join(rules)
