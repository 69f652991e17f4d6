"""Certificate IDs: format, check character, normalization."""

from __future__ import annotations

import random
import re

import pytest

from certplatform.certificates.ids import (
    ALPHABET,
    LEGACY_CHECK_SYMBOLS,
    MALFORMED,
    TYPO,
    check_symbol,
    id_problem,
    is_valid_certificate_id,
    legacy_check_symbol,
    new_certificate_id,
    normalize_certificate_id,
)

VALID = "FLAGOS-L1-0011-ABC" + check_symbol("L1", "0011ABC")
# Only letters and digits: nothing a shell, a URL or a spreadsheet would treat specially.
ID_PATTERN = re.compile(r"FLAGOS-L[123]-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


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


def _passes_new_check(level: str, code: str) -> bool:
    return code[-1] == check_symbol(level, code[:-1])


def test_check_character_catches_every_substitution_and_adjacent_transposition() -> None:
    bodies = random.Random(13)
    for _ in range(40):
        level = bodies.choice(["L1", "L2", "L3"])
        body = "".join(bodies.choice(ALPHABET) for _ in range(7))
        code = body + check_symbol(level, body)
        for position in range(len(code)):
            for symbol in ALPHABET:
                if symbol != code[position]:
                    assert not _passes_new_check(level, code[:position] + symbol + code[position + 1 :]), code
        for position in range(len(code) - 1):
            if code[position] != code[position + 1]:
                swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
                assert not _passes_new_check(level, swapped), (code, swapped)
        for other in {"L1", "L2", "L3"} - {level}:  # the level digit is checked too
            assert not _passes_new_check(other, code)


def test_ids_issued_before_the_new_check_keep_verifying() -> None:
    """The first IDs carry a mod-37 symbol, which may be one of *~$=U: they stay valid, with every mistake caught."""
    bodies = random.Random(37)
    legacy = {}
    while not set("*~$=U") <= set(legacy):
        body = "".join(bodies.choice(ALPHABET) for _ in range(7))
        symbol = legacy_check_symbol(body)
        if symbol in "*~$=U":
            legacy.setdefault(symbol, body)
    for symbol, body in legacy.items():
        certificate_id = f"FLAGOS-L2-{body[:4]}-{body[4:]}{symbol}"
        assert normalize_certificate_id(certificate_id.lower()) == certificate_id
        for position in range(7):
            for other in ALPHABET:
                if other != body[position]:
                    altered = body[:position] + other + body[position + 1 :]
                    assert legacy_check_symbol(altered) != symbol
    dollar = f"FLAGOS-L1-{legacy['$'][:4]}-{legacy['$'][4:]}$"
    assert is_valid_certificate_id(dollar) and id_problem(dollar) is None
    assert set(LEGACY_CHECK_SYMBOLS) - set(ALPHABET) == set("*~$=U")


def test_a_wrong_check_character_is_a_typo_not_an_unknown_id() -> None:
    wrong = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")
    if is_valid_certificate_id(wrong):  # the one other symbol an ID of the first scheme could end with
        wrong = VALID[:-1] + ("2" if VALID[-1] != "2" else "3")
    assert id_problem(wrong) == TYPO
    assert id_problem(VALID[:-1].replace("0011", "0111") + VALID[-1]) == TYPO
    assert id_problem("FLAGOS-L1-12") == MALFORMED and id_problem("hello") == MALFORMED
    assert id_problem(VALID) is None


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


def test_a_new_id_under_another_level_is_a_typo() -> None:
    """New IDs check the level digit too: L1 mistyped as L3 is a typing mistake, not someone else's certificate."""
    certificate_id = new_certificate_id("L1")
    assert id_problem(certificate_id.replace("-L1-", "-L3-")) in {TYPO, None}
    assert not _passes_new_check("L3", _code(certificate_id))
