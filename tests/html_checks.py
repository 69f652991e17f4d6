"""What every HTML page must be: well-formed enough for a real parser, one short title, no template leftovers."""

from __future__ import annotations

from contextlib import contextmanager

import html5lib
from flask import Flask
from jinja2 import Undefined

MAX_TITLE = 120
LEFTOVERS = ("{{", "}}", "{%", "%}", "Traceback (most recent call last)", "UndefinedError")


def page_problems(body: str) -> list[str]:
    """Why `body` is not a sound page (empty when it is)."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    document = parser.parse(body)
    problems = [f"HTML parse error {code} at line {pos[0]}" for pos, code, _data in parser.errors]
    titles = document.findall(".//title")
    if len(titles) != 1:
        problems.append(f"{len(titles)} <title> elements")
    else:
        title = "".join(titles[0].itertext()).strip()
        if not title or len(title) > MAX_TITLE or list(titles[0]):
            problems.append(f"title is not one short text: {title[:200]!r}")
    if document.find("./head/title") is None:
        problems.append("the <title> is not in <head>")
    text = "".join(document.find("body").itertext()) if document.find("body") is not None else ""
    problems += [f"template leftover {marker!r} in the text" for marker in LEFTOVERS if marker in text]
    return problems


@contextmanager
def recording_undefined(app: Flask):
    """While active, every undefined template variable that gets printed or iterated is recorded by name."""
    seen: list[str] = []

    class Recording(Undefined):
        def __str__(self) -> str:
            seen.append(self._undefined_name or "?")
            return ""

        def __iter__(self):
            seen.append(self._undefined_name or "?")
            return iter(())

    previous = app.jinja_env.undefined
    app.jinja_env.undefined = Recording
    try:
        yield seen
    finally:
        app.jinja_env.undefined = previous
