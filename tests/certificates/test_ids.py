"""Certificate IDs: format, check character, normalization."""

from __future__ import annotations

import re

import pytest

from certplatform.certificates.ids import (
    ALPHABET,
    CHECK_SYMBOLS,
    check_symbol,
    is_valid_certificate_id,
    new_certificate_id,
    normalize_certificate_id,
)

VALID = "FLAGOS-L1-0011-ABC" + check_symbol("0011ABC")
ID_PATTERN = re.compile(r"FLAGOS-L[123]-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}[0-9A-HJKMNP-TV-Z*~$=U]")


def _code(certificate_id: str) -> str:
    """The 8 characters after the level: 7 body characters and the check character."""
    return certificate_id[len("FLAGOS-L1-") :].replace("-", "")


def _with_code(certificate_id: str, code: str) -> str:
    return f"{certificate_id[: len('FLAGOS-L1-')]}{code[:4]}-{code[4:]}"


@pytest.mark.parametrize("level", ["L1", "L2", "L3"])
def test_new_ids_have_the_documented_format(level: str) -> None:
    ids = {new_certificate_id(level) for _ in range(200)}
    assert len(ids) == 200
    for certificate_id in ids:
        assert ID_PATTERN.fullmatch(certificate_id), certificate_id
        assert certificate_id.startswith(f"FLAGOS-{level}-")
        assert normalize_certificate_id(certificate_id) == certificate_id


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        new_certificate_id("L4")


def test_check_character_catches_every_substitution_and_adjacent_transposition() -> None:
    for _ in range(40):
        certificate_id = new_certificate_id("L2")
        code = _code(certificate_id)
        for position in range(len(code)):
            symbols = ALPHABET if position < 7 else CHECK_SYMBOLS
            for symbol in symbols:
                if symbol == code[position]:
                    continue
                altered = _with_code(certificate_id, code[:position] + symbol + code[position + 1 :])
                assert not is_valid_certificate_id(altered), (certificate_id, altered)
        for position in range(len(code) - 1):
            if code[position] == code[position + 1]:
                continue
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            assert not is_valid_certificate_id(_with_code(certificate_id, swapped)), (certificate_id, swapped)


def test_normalization_accepts_lower_case_missing_hyphens_and_look_alikes() -> None:
    certificate_id = VALID
    assert normalize_certificate_id(f"  {certificate_id.lower()}  ") == certificate_id
    assert normalize_certificate_id(certificate_id.replace("-", "")) == certificate_id
    assert normalize_certificate_id(certificate_id.replace("-", " ")) == certificate_id
    look_alikes = certificate_id.replace("0011", "OoIl")
    assert normalize_certificate_id(look_alikes) == certificate_id


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "FLAGOS",
        VALID[:-1],  # check character missing
        VALID + "0",  # one character too many
        VALID.replace("FLAGOS", "FLAGOX"),  # wrong prefix
        VALID.replace("FLAGOS", "CERT"),
        VALID.replace("FLAGOS-", ""),
        VALID.replace("-L1-", "-L4-"),  # wrong level
        VALID.replace("-L1-", "-L0-"),
        VALID.replace("-L1-", "-X1-"),
        VALID.replace("-L1-", "-"),
        VALID.replace("0011", "0U11"),  # U is only a check symbol
        VALID.replace("0011", "00*1"),
        VALID.replace("0011", "00\u06611"),  # an Arabic-Indic digit one
        "x" * 1000,
    ],
)
def test_malformed_ids_are_refused(raw: str) -> None:
    assert normalize_certificate_id(raw) is None
    assert not is_valid_certificate_id(raw)


def test_a_valid_body_under_another_level_keeps_its_check() -> None:
    """The level is part of the format, not of the check: changing it gives a well-formed, different ID."""
    certificate_id = new_certificate_id("L1")
    assert normalize_certificate_id(certificate_id.replace("-L1-", "-L3-")) == certificate_id.replace("-L1-", "-L3-")
