"""How alike two code texts of one task are, remembered per pair of texts.

The comparison is copydetect's: the code is tokenised, names and strings are normalised (so renaming variables
changes nothing), k-grams of the result are hashed and winnowed, and the fingerprints of the task's starter are
left out as boilerplate (code everyone was given is no evidence). Each side's share is the part of its fingerprinted
code that is found in the other; the matching regions are character ranges of the original texts.

Results are stored in `SimilarityPair` under a key made of the method, its parameters, the starter and both texts'
SHA-256, so a page view reads what the worker computed after grading, and identical texts are compared once.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from certplatform.config import similarity_settings
from certplatform.extensions import db
from certplatform.models import ExamTask, SimilarityPair
from certplatform.sandbox.kinds import source_suffix

METHOD = "copydetect-0.5/max-share"  # part of every key: a new method never reads old results
LOOKUP_CHUNK = 500


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Side:
    """One text's part of a comparison, as seen from that text."""

    share: float
    regions: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Outcome:
    """The comparison of text `a` with text `b`."""

    a: Side
    b: Side

    @property
    def share(self) -> float:
        """What flags a pair: the larger share, so copying all of a short solution into a long one still shows."""
        return max(self.a.share, self.b.share)


def _params() -> tuple[int, int]:
    settings = similarity_settings(current_app.config)
    return settings["SIMILARITY_KGRAM"], settings["SIMILARITY_WINDOW"]


def pair_key(task: ExamTask, sha_a: str, sha_b: str) -> str:
    low, high = sorted((sha_a, sha_b))
    kgram, window = _params()
    parts = (METHOD, source_suffix(task.kind), str(kgram), str(window), sha256(task.starter or ""), low, high)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class _Fingerprinter:
    """Fingerprints of one task's texts, each made once per call; the starter's are the boilerplate."""

    def __init__(self, task: ExamTask) -> None:
        from copydetect import CodeFingerprint  # imports numpy and matplotlib: only where comparisons happen

        self._make = CodeFingerprint
        self.kgram, self.window = _params()
        self.suffix = source_suffix(task.kind)
        self._cache: dict[str, object] = {}
        starter = self._fingerprint(task.starter or "", boilerplate=None)
        self._boilerplate = sorted(starter.hashes)

    def _fingerprint(self, code: str, boilerplate):
        # Prose (Markdown documents) is compared as it is: the tokeniser would drop every word of it.
        return self._make(
            f"submission{self.suffix}",
            self.kgram,
            self.window,
            boilerplate=boilerplate,
            filter=self.suffix != ".md",
            fp=io.StringIO(code),
        )

    def __call__(self, code: str):
        key = sha256(code)
        if key not in self._cache:
            import numpy as np

            self._cache[key] = self._fingerprint(code, np.array(self._boilerplate, dtype=np.int64))
        return self._cache[key]


def _regions(slices) -> list[list[int]]:
    if len(slices) == 0 or len(slices[0]) == 0:
        return []
    return [[int(start), int(end)] for start, end in zip(slices[0], slices[1], strict=True)]


def _compute(fingerprint: _Fingerprinter, task: ExamTask, texts: dict[str, str]) -> SimilarityPair:
    """Compare the two texts of `texts` (SHA-256 -> code)."""
    from copydetect import compare_files

    low, high = sorted(texts) if len(texts) == 2 else (next(iter(texts)),) * 2
    _overlap, (share_low, share_high), (slices_low, slices_high) = compare_files(
        fingerprint(texts[low]), fingerprint(texts[high])
    )
    return SimilarityPair(
        key=pair_key(task, low, high),
        task_id=task.id,
        low_sha256=low,
        high_sha256=high,
        low_share=min(1.0, float(share_low)),
        high_share=min(1.0, float(share_high)),
        low_regions=_regions(slices_low),
        high_regions=_regions(slices_high),
    )


def _stored(keys: Iterable[str]) -> dict[str, SimilarityPair]:
    keys = list(dict.fromkeys(keys))
    found: dict[str, SimilarityPair] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        found.update(
            (p.key, p) for p in db.session.scalars(sa.select(SimilarityPair).where(SimilarityPair.key.in_(chunk)))
        )
    return found


def _save(rows: list[SimilarityPair]) -> None:
    """Store new results; a pair another process stored meanwhile is kept as it is (both computed the same)."""
    if not rows:
        return
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    columns = ("key", "task_id", "low_sha256", "high_sha256", "low_share", "high_share", "low_regions", "high_regions")
    values = [{c: getattr(row, c) for c in columns} for row in rows]
    db.session.execute(insert(SimilarityPair).on_conflict_do_nothing(index_elements=["key"]), values)
    db.session.commit()


def outcomes(task: ExamTask, pairs: Iterable[tuple[str, str, object, object]]) -> dict[tuple[str, str], Outcome]:
    """The outcome of each (sha_a, sha_b, code_a, code_b) pair, from the store or computed now and stored.

    A code may be given as a callable that returns it, so that texts whose results are stored are never loaded.
    """
    wanted = {(a, b): (code_a, code_b) for a, b, code_a, code_b in pairs}
    keys = {pair: pair_key(task, *pair) for pair in wanted}
    stored = _stored(keys.values())
    missing = [pair for pair, key in keys.items() if key not in stored]
    if missing:
        fingerprint = _Fingerprinter(task)
        fresh: dict[str, SimilarityPair] = {}
        for pair in missing:
            if keys[pair] not in fresh:
                texts = {sha: code() if callable(code) else code for sha, code in zip(pair, wanted[pair], strict=True)}
                fresh[keys[pair]] = _compute(fingerprint, task, texts)
        _save(list(fresh.values()))
        stored.update(fresh)
    return {pair: _oriented(stored[keys[pair]], pair[0]) for pair in wanted}


def _oriented(row: SimilarityPair, sha_a: str) -> Outcome:
    low = Side(row.low_share, tuple(tuple(r) for r in row.low_regions))
    high = Side(row.high_share, tuple(tuple(r) for r in row.high_regions))
    if row.low_sha256 == row.high_sha256:
        return Outcome(low, low)
    return Outcome(low, high) if sha_a == row.low_sha256 else Outcome(high, low)
