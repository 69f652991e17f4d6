"""Emphasis next to full-width CJK punctuation, as Chinese authors write it: `**程序（program）**是`.

CommonMark decides whether `**` may open or close by its neighbours; a full-width bracket counts as punctuation,
so `）**是` cannot close and the asterisks stay on the page. Chinese puts no spaces around words, so here a
full-width punctuation mark next to a delimiter run counts as a letter; everything else keeps CommonMark's rules.
"""

from __future__ import annotations

import unicodedata

from markdown_it import MarkdownIt
from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.rules_inline import emphasis
from markdown_it.rules_inline.state_inline import Scanned, StateInline

# CJK Symbols and Punctuation, and the full-width forms (（）：，。、； and the like).
_CJK_PUNCT_BLOCKS = ((0x3000, 0x303F), (0xFF00, 0xFF65))


def is_cjk_punct(char: str) -> bool:
    code = ord(char)
    in_block = any(lo <= code <= hi for lo, hi in _CJK_PUNCT_BLOCKS)
    return in_block and unicodedata.category(char).startswith("P")


def _punct(char: str) -> bool:
    return not is_cjk_punct(char) and (isMdAsciiPunct(ord(char)) or isPunctChar(char))


def scan_delims(state: StateInline, start: int, can_split_word: bool) -> Scanned:
    """CommonMark's delimiter-run test with full-width CJK punctuation treated as a letter."""
    marker = state.src[start]
    end = start
    while end < state.posMax and state.src[end] == marker:
        end += 1
    before = state.src[start - 1] if start > 0 else " "
    after = state.src[end] if end < state.posMax else " "
    space_before, space_after = isWhiteSpace(ord(before)), isWhiteSpace(ord(after))
    punct_before, punct_after = _punct(before), _punct(after)
    left = not (space_after or (punct_after and not (space_before or punct_before)))
    right = not (space_before or (punct_before and not (space_after or punct_after)))
    can_open = left and (can_split_word or not right or punct_before)
    can_close = right and (can_split_word or not left or punct_after)
    return Scanned(can_open, can_close, end - start)


def _tokenize(state: StateInline, silent: bool) -> bool:
    state.scanDelims = lambda start, can_split: scan_delims(state, start, can_split)  # type: ignore[method-assign]
    return emphasis.tokenize(state, silent)


def cjk_emphasis_plugin(md: MarkdownIt) -> None:
    """Replace the emphasis tokenizer with one that accepts delimiters next to CJK punctuation."""
    md.inline.ruler.at("emphasis", _tokenize)
