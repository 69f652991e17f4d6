"""Certificate IDs such as ``FLAGOS-L1-7K3M-Q9A$``: Crockford base32 body plus a mod-37 check character.

The body is 7 Crockford base32 characters (35 random bits from `secrets`); the last character is Crockford's check
symbol over the body's value. Because 37 is prime and larger than the alphabet, the check catches every
single-character substitution and every transposition of adjacent characters, so a mistyped ID is rejected as
malformed instead of being looked up (and reported "not found") as if it were someone else's.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "FLAGOS"
LEVELS = ("L1", "L2", "L3")
BODY_LENGTH = 7
BODY_BITS = 5 * BODY_LENGTH

# Crockford base32: no I, L, O, U; the check symbols add "*~$=U" for the values 32..36.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
_VALUE = {symbol: value for value, symbol in enumerate(CHECK_SYMBOLS)}
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")
_MAX_RAW_LENGTH = 64  # anything longer is not an ID; don't bother normalizing it


def check_symbol(body: str) -> str:
    """The check character for a body of Crockford base32 characters."""
    value = 0
    for symbol in body:
        value = value * 32 + ALPHABET.index(symbol)
    return CHECK_SYMBOLS[value % 37]


def _format(level: str, body: str, check: str) -> str:
    return f"{PREFIX}-{level}-{body[:4]}-{body[4:]}{check}"


def new_certificate_id(level: str) -> str:
    """A fresh random ID for a certificate at `level` ("L1", "L2" or "L3")."""
    if level not in LEVELS:
        raise ValueError(f"unknown certificate level {level!r}; expected one of {', '.join(LEVELS)}")
    number = secrets.randbits(BODY_BITS)
    body = "".join(ALPHABET[(number >> shift) & 31] for shift in range(BODY_BITS - 5, -1, -5))
    return _format(level, body, check_symbol(body))


def normalize_certificate_id(raw: str) -> str | None:
    """The canonical form of a typed or scanned ID, or None if it is malformed or its check character fails.

    Accepts lower case, missing or extra separators (hyphens, spaces) and Crockford's look-alikes in the
    random part (O for 0, I and L for 1).
    """
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
    if check_symbol(body) != check:
        return None
    return _format(level, body, check)


def is_valid_certificate_id(raw: str) -> bool:
    """Whether `raw` normalizes to a well-formed ID with a correct check character."""
    return normalize_certificate_id(raw) is not None
