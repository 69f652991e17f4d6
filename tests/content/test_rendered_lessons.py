"""Every lesson, in both languages, renders without Markdown left on the page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from certplatform.services.cjk_emphasis import is_cjk_punct
from certplatform.services.markdown import render, render_inline

COURSES = Path(__file__).resolve().parents[2] / "courses"
LESSONS = sorted(COURSES.glob("*/*/*/lesson.*.md"))
RAW_MARKDOWN = {
    "emphasis": re.compile(r"\*\*|(?<![\w*])\*(?=\S)[^*\n]+(?<=\S)\*(?![\w*])"),
    "link": re.compile(r"\[[^\]\n]+\]\([^)\n]*\)"),
    "code span": re.compile(r"`"),
    "heading": re.compile(r"^\s{0,3}#{1,6}\s", re.MULTILINE),
}


class _VisibleText(HTMLParser):
    """The text a reader sees outside code: where left-over Markdown would show."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.depth += tag in {"code", "pre"}

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in {"code", "pre"}

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.parts.append(data)


def raw_markdown(html: str) -> list[str]:
    """What looks like unrendered Markdown in `html`'s visible text, named by kind."""
    parser = _VisibleText()
    parser.feed(html)
    text = "".join(parser.parts)
    return [f"{kind}: {m.group(0)!r}" for kind, rx in RAW_MARKDOWN.items() for m in rx.finditer(text)]


def test_lessons_exist_in_both_languages():
    assert LESSONS
    assert {p.name for p in LESSONS} == {"lesson.zh.md", "lesson.en.md"}


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: str(p.relative_to(COURSES)))
def test_lesson_leaves_no_markdown_on_the_page(path: Path):
    assert raw_markdown(render(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("**程序（program）**是一个实例", "<strong>程序（program）</strong>是一个实例"),
        ("这是**掩码（mask）**：", "这是<strong>掩码（mask）</strong>："),
        ("（**程序**）", "（<strong>程序</strong>）"),
        ("*网格（grid）*的大小", "<em>网格（grid）</em>的大小"),
        ("a **b** c", "a <strong>b</strong> c"),
        ("2 * 3 * 4", "2 * 3 * 4"),
    ],
)
def test_emphasis_next_to_cjk_punctuation(source: str, html: str):
    assert render_inline(source) == html


def test_emphasis_keeps_sanitising():
    assert "<script" not in render("**（<script>alert(1)</script>）**是")


def test_cjk_punctuation_is_recognised():
    assert all(is_cjk_punct(c) for c in "（）：，。、；「」")
    assert not any(is_cjk_punct(c) for c in "()程a ")


def test_the_check_sees_raw_markdown():
    found = raw_markdown("<p>**程序（program）**是 [x](y) `z`</p>\n<p># Title</p><pre><code>a ** b `c`</code></pre>")
    assert sorted({f.split(":")[0] for f in found}) == ["code span", "emphasis", "heading", "link"]
    assert not any("a ** b" in f for f in found)


DIAGRAM = re.compile(r"!\[[^\]]*\]\(assets/([^)\s]+\.svg)\)")
CJK = re.compile(r"[\u4e00-\u9fff]")
SVG_TEXT = re.compile(r"<(?:text|title)[^>]*>([^<]*)<")


def _diagrams(lesson: Path) -> list[Path]:
    return [lesson.parent / "assets" / name for name in DIAGRAM.findall(lesson.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", [p for p in LESSONS if _diagrams(p)], ids=lambda p: str(p.relative_to(COURSES)))
def test_diagrams_speak_the_lessons_language_and_scale_to_their_box(path: Path):
    chinese = path.name == "lesson.zh.md"
    for svg in _diagrams(path):
        source = svg.read_text(encoding="utf-8")
        labels = " ".join(SVG_TEXT.findall(source))
        assert bool(CJK.search(labels)) is chinese, f"{svg.name}: labels not in the lesson's language"
        assert re.search(r"<svg[^>]*\bviewBox=", source), f"{svg.name}: without a viewBox it cannot scale down"


def test_lesson_pictures_never_overflow_their_column():
    css = (COURSES.parent / "certplatform" / "static" / "css" / "app.css").read_text(encoding="utf-8")
    assert re.search(r"\.prose img\s*\{[^}]*max-width:\s*100%[^}]*height:\s*auto", css)
