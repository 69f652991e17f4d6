"""Input every route receives is checked once, here, before a view or the database sees it.

- No form field, query parameter, path or upload name may hold a NUL character (PostgreSQL cannot store one, and
  no real input needs it).
- Integers in paths (`<int:...>`) fit the database's integer column; a larger number is a page that does not exist.
- Page numbers are parsed with bounds (`page_arg`).
- JSON bodies are limited in size and nesting, and hold no NUL characters either.

Each refusal is a 400 with a message saying what was wrong (`InvalidInput`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_DB_INT = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL
MAX_PAGE = 100_000
JSON_MAX_DEPTH = 32


class InvalidInput(BadRequest):
    """A 400 whose description is safe to show and says what to change."""


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` in routes: 0 up to the largest database integer; anything larger matches no route (404)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


def page_arg(name: str = "page") -> int:
    """The page number in the query string: 1 when absent, a 400 when it is not a whole number in range."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidInput(_("The page number must be a whole number from 1 to %(max)d.", max=MAX_PAGE))
    return int(raw)


def _nul_message() -> str:
    return _("The request contains a NUL character (\\0), which no field accepts. Remove it and try again.")


def reject_nul_characters() -> None:
    if "\x00" in request.path:
        raise InvalidInput(_nul_message())
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if "\x00" in key or "\x00" in value:
                raise InvalidInput(_nul_message())
    for upload in request.files.values():
        if upload.filename and "\x00" in upload.filename:
            raise InvalidInput(_nul_message())


def _check_json(value: Any) -> None:
    """Walk a parsed document without recursion: bounded depth, no NUL in any string."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > JSON_MAX_DEPTH:
            raise ValueError(_("The JSON document is nested more than %(n)d levels deep.", n=JSON_MAX_DEPTH))
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError(_nul_message())
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


class GuardedJSONProvider(DefaultJSONProvider):
    """Parses request bodies (and every other `flask.json.loads`) within a size and a nesting limit."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        limit = self._app.config["JSON_MAX_BYTES"]
        if len(s) > limit:
            raise ValueError(_("The JSON document is larger than %(kb)d KB.", kb=limit // 1024))
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError(
                _("The JSON document is nested more than %(n)d levels deep.", n=JSON_MAX_DEPTH)
            ) from None
        _check_json(value)
        return value


class GuardedRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            return super().on_json_loading_failed(e)
        raise InvalidInput(_("The body is not valid JSON: %(reason)s", reason=str(e)))


def init_app(app: Flask) -> None:
    """Call before blueprints register, so that their `<int:...>` rules use the bounded converter."""
    app.url_map.converters["int"] = DatabaseIntConverter
    app.request_class = GuardedRequest
    app.json = GuardedJSONProvider(app)
    app.before_request(reject_nul_characters)

    @app.errorhandler(InvalidInput)
    def invalid_input(exc: InvalidInput):
        from certplatform.errors import render_error

        return render_error(400, exc.description)
