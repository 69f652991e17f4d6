"""Badge pictures: the level's badge art (PNG), the PNG with an Open Badge baked in, and the live status badge (SVG).

Baking follows the Open Badges 3.0 baking specification for PNG: one `iTXt` chunk with the keyword
`openbadgecredential`, uncompressed, no language tag, whose text is the credential (here the compact JWS, the same
signed JWT the holder can download). The chunk goes before the first IDAT, and a PNG gets at most one such chunk.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import zlib
from xml.sax.saxutils import escape

BAKED_KEYWORD = b"openbadgecredential"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_CREDENTIAL_BYTES = 256 * 1024

# The level's colour: the same on the badge art and the live badge's left half.
LEVEL_COLOURS = {"L1": "#1f5fbf", "L2": "#6a3fb5", "L3": "#a0522d"}
# The live badge's status half: green only for valid; amber for expired; red for revoked and not valid.
STATUS_COLOURS = {
    "valid": "#1e7b45",
    "expired": "#9a6700",
    "revoked": "#b42318",
    "invalid": "#b42318",
    "unknown": "#59636e",
}


class BakingError(ValueError):
    """The image is not a PNG, or the credential cannot be baked into it."""


def _chunks(png: bytes):
    """(type, data, start, end) of every chunk; BakingError for anything that is not a well-formed PNG."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image")
    position = len(PNG_SIGNATURE)
    while position < len(png):
        if position + 8 > len(png):
            raise BakingError("truncated PNG chunk")
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        end = position + 12 + length
        if end > len(png):
            raise BakingError("truncated PNG chunk")
        yield kind, png[position + 8 : position + 8 + length], position, end
        position = end


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _is_baked(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.split(b"\x00", 1)[0] == BAKED_KEYWORD


def bake_png(png: bytes, credential: str) -> bytes:
    """`png` with `credential` in its `openbadgecredential` iTXt chunk (replacing one already there)."""
    text = credential.encode("utf-8")
    if not text or len(text) > MAX_CREDENTIAL_BYTES:
        raise BakingError("the credential is empty or too large to bake")
    # keyword, NUL, compression flag 0, compression method 0, empty language tag, NUL, empty translated keyword, NUL
    baked = _chunk(b"iTXt", BAKED_KEYWORD + b"\x00\x00\x00\x00\x00" + text)
    parts = [PNG_SIGNATURE]
    inserted = False
    for kind, data, start, end in _chunks(png):
        if _is_baked(kind, data):
            continue
        if kind == b"IDAT" and not inserted:
            parts.append(baked)
            inserted = True
        parts.append(png[start:end])
    if not inserted:
        raise BakingError("the PNG has no image data")
    return b"".join(parts)


def baked_credential(png: bytes) -> str | None:
    """The credential baked into `png`, or None when there is none."""
    for kind, data, _start, _end in _chunks(png):
        if _is_baked(kind, data):
            _keyword, rest = data.split(b"\x00", 1)
            if rest[:2] != b"\x00\x00":
                raise BakingError("a baked credential must not be compressed")
            _language, _translated, text = rest[2:].split(b"\x00", 2)
            return text.decode("utf-8")
    return None


def _hexagon(centre: float, radius: float) -> list[tuple[float, float]]:
    return [
        (centre + radius * math.cos(math.radians(90 + 60 * k)), centre + radius * math.sin(math.radians(90 + 60 * k)))
        for k in range(6)
    ]


@functools.lru_cache(maxsize=len(LEVEL_COLOURS))
def level_badge_png(level: str, size: int = 400) -> bytes:
    """The badge art of a level (the same picture for every holder of it): a hexagon in the level's colour."""
    from PIL import Image, ImageDraw, ImageFont

    colour = LEVEL_COLOURS[level]
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = size / 2
    draw.polygon(_hexagon(centre, size * 0.48), fill=colour)
    draw.polygon(_hexagon(centre, size * 0.42), outline="#ffffff", width=max(2, size // 80))

    def text(y: float, words: str, scale: float) -> None:
        font = ImageFont.load_default(size=round(size * scale))
        draw.text((centre, y), words, font=font, fill="#ffffff", anchor="mm")

    text(size * 0.30, "FlagOS", 0.11)
    text(size * 0.50, level, 0.26)
    text(size * 0.70, "CERTIFIED", 0.075)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _text_width(text: str) -> int:
    """Approximate width in px at 11 px Verdana-like type; CJK characters are full-width."""
    return sum(11 if ord(char) >= 0x2E80 else 7 for char in text)


def status_badge_svg(label: str, status_text: str, status: str, title: str) -> str:
    """A flat two-part badge (label | status), the size of the badges in READMEs, with an accessible title."""
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["unknown"])
    left, right = _text_width(label) + 14, _text_width(status_text) + 14
    width = left + right
    label_x, status_x = left / 2, left + right / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{left}" height="20" rx="3" fill="#24292f"/>'
        f'<rect x="{left}" width="{right}" height="20" rx="3" fill="{colour}"/>'
        f'<rect x="{left}" width="4" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,Noto Sans CJK SC,sans-serif" '
        'font-size="11">'
        f'<text x="{label_x}" y="14" textLength="{left - 14}">{escape(label)}</text>'
        f'<text x="{status_x}" y="14" textLength="{right - 14}">{escape(status_text)}</text>'
        "</g></svg>"
    )
