"""Grader messages in the reader's language.

The harness writes every message as English text plus codes with arguments (sandboxes/harness/gradelib/
messages.py, the one catalog of templates). A submission keeps both; pages word the codes through the babel
catalog when they are shown, so a candidate reading Chinese reads the verdict in Chinese. Messages without codes
(results stored before codes existed, infrastructure failures) are shown as stored.
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext

from certplatform.sandbox.harness_data import load

MAX_PARTS_BYTES = 64 * 1024


def _catalog():
    return load("messages")


def valid_parts(value: Any) -> list[dict] | None:
    """Message parts from results.json (untrusted bytes from the sandbox): kept only when well-formed and small."""
    if not isinstance(value, list) or not value or not _catalog().valid(value):
        return None
    if len(json.dumps(value, ensure_ascii=False)) > MAX_PARTS_BYTES:
        return None
    return value


def _translate(template: str) -> str:
    # The template is a catalog msgid; its placeholders are filled by the catalog's render(), after translation.
    return gettext(template) if template else template


def english(parts: list[dict]) -> str:
    """The message as the catalog's English templates word it (the text stored next to the codes)."""
    return _catalog().render(parts)


def render(parts: list[dict] | None, fallback: str = "") -> str:
    """The message in the current request's language (English outside a request), or the stored text."""
    if not parts:
        return fallback
    return _catalog().render(parts, translate=_translate)


# -- the submission's top-level message: English text and parts in one text column -----------------------------


def encode(text: str, parts: list[dict] | None) -> str:
    """What Submission.message stores: the plain text, or a JSON object with the text and its parts."""
    if not parts:
        return text
    return json.dumps({"text": text, "parts": parts}, ensure_ascii=False)


def decode(stored: str | None) -> tuple[str, list[dict] | None]:
    """(English text, parts or None) from a stored Submission.message."""
    if not stored:
        return "", None
    if stored.startswith('{"text"'):
        try:
            data = json.loads(stored)
        except ValueError:
            return stored, None
        if isinstance(data, dict) and isinstance(data.get("text"), str):
            return data["text"], valid_parts(data.get("parts"))
    return stored, None


def submission_message(stored: str | None) -> str:
    """A submission's message as its reader should see it (with any note a backend added to the English text)."""
    text, parts = decode(stored)
    if not parts:
        return text
    plain = english(parts)
    note = text[len(plain) :] if text.startswith(plain) else ""
    return render(parts, text) + note


def test_message(test: dict) -> str:
    """One stored test outcome's message as its reader should see it."""
    return render(valid_parts(test.get("parts")), str(test.get("message") or ""))
