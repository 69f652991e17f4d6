"""Typing into the exam editor (CodeMirror over the submitted textarea) from a browser test."""

from __future__ import annotations


def fill_editor(page, code: str) -> None:
    """Replace the editor's text with `code`, as pasting would (no auto-indent on the way in)."""
    page.locator(".code-editor-host .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    assert page.input_value("textarea.code-editor") == code
