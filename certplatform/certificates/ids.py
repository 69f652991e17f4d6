"""Certificate IDs such as ``FLAGOS-L1-7K3M-Q9A2``: Crockford base32 body plus a check character.

The body is 7 Crockford base32 characters (35 random bits from `secrets`); the last character is a check character
over the level digit and the body, so a mistyped ID is told apart from one that does not exist.

New IDs use the Damm algorithm over GF(32) (x ∘ y = 2·x ⊕ y, a totally anti-symmetric quasigroup of order 32): it
catches every single-character substitution and every transposition of adjacent characters, like the mod-37 check
of the first IDs, but its check character is one of the 32 base32 symbols, so an ID holds only letters and digits
that survive shells, URLs and spreadsheets. The first IDs carry Crockford's mod-37 symbol over the body, which can
be one of ``*~$=U``; they stay valid forever (they are printed on certificates), so both checks are accepted.
"""

from __future__ import annotations

import functools
import re
import secrets

PREFIX = "FLAGOS"
LEVELS = ("L1", "L2", "L3")
BODY_LENGTH = 7
BODY_BITS = 5 * BODY_LENGTH

# Crockford base32: no I, L, O, U.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# The first IDs' mod-37 check symbols add "*~$=U" for the values 32..36.
LEGACY_CHECK_SYMBOLS = ALPHABET + "*~$=U"
_VALUE = {symbol: value for value, symbol in enumerate(LEGACY_CHECK_SYMBOLS)}
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")
_MAX_RAW_LENGTH = 64  # anything longer is not an ID; don't bother normalizing it
_GF32_MODULUS = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)

MALFORMED = "malformed"  # not shaped like a certificate ID at all
TYPO = "typo"  # shaped like one, but its check character does not match: a typing mistake


def _times_two(value: int) -> int:
    """2·value in GF(32)."""
    value <<= 1
    return value ^ _GF32_MODULUS if value & 0b100000 else value


def check_symbol(level: str, body: str) -> str:
    """The check character of new IDs: Damm over GF(32) of the level digit followed by the body."""
    interim = 0
    for symbol in level[1:] + body:
        interim = _times_two(interim) ^ ALPHABET.index(symbol)
    return ALPHABET[_times_two(interim)]


def legacy_check_symbol(body: str) -> str:
    """Crockford's mod-37 check symbol over the body, as the first IDs carry it."""
    value = 0
    for symbol in body:
        value = value * 32 + ALPHABET.index(symbol)
    return LEGACY_CHECK_SYMBOLS[value % 37]


def _format(level: str, body: str, check: str) -> str:
    return f"{PREFIX}-{level}-{body[:4]}-{body[4:]}{check}"


def new_certificate_id(level: str) -> str:
    """A fresh random ID for a certificate at `level` ("L1", "L2" or "L3")."""
    if level not in LEVELS:
        raise ValueError(f"unknown certificate level {level!r}; expected one of {', '.join(LEVELS)}")
    number = secrets.randbits(BODY_BITS)
    body = "".join(ALPHABET[(number >> shift) & 31] for shift in range(BODY_BITS - 5, -1, -5))
    return _format(level, body, check_symbol(level, body))


def _parse(raw: str) -> tuple[str, str, str] | None:
    """(level, body, check) of something shaped like an ID, whatever its check character says."""
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    compact = _SEPARATORS.sub("", raw.strip().upper())
    if not compact.startswith(PREFIX):
        return None
    rest = compact[len(PREFIX) :]
    level, code = rest[:2], rest[2:].translate(_LOOK_ALIKES)
    if level not in LEVELS or len(code) != BODY_LENGTH + 1:
        return None
    body, check = code[:BODY_LENGTH], code[BODY_LENGTH]
    if any(symbol not in ALPHABET for symbol in body) or check not in _VALUE:
        return None
    return level, body, check


def normalize_certificate_id(raw: str) -> str | None:
    """The canonical form of a typed or scanned ID, or None if it is malformed or its check character fails.

    Accepts lower case, missing or extra separators (hyphens, spaces) and Crockford's look-alikes in the
    random part (O for 0, I and L for 1).
    """
    return _normalized(raw) if isinstance(raw, str) else None


@functools.lru_cache(maxsize=4096)  # every verification normalizes the ID it is given, which alone decides the answer
def _normalized(raw: str) -> str | None:
    parsed = _parse(raw)
    if parsed is None:
        return None
    level, body, check = parsed
    if check not in (check_symbol(level, body), legacy_check_symbol(body)):
        return None
    return _format(level, body, check)


def id_problem(raw: str) -> str | None:
    """None for a well-formed ID; TYPO when only its check character fails; MALFORMED otherwise."""
    if normalize_certificate_id(raw) is not None:
        return None
    return TYPO if _parse(raw) is not None else MALFORMED


def is_valid_certificate_id(raw: str) -> bool:
    """Whether `raw` normalizes to a well-formed ID with a correct check character."""
    return normalize_certificate_id(raw) is not None
