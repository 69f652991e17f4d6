"""A certificate's status, computed only from signed data (revoking and the status list it writes: revocation.py).

What a certificate says (holder, level, dates) is its snapshot, signed with Ed25519 at issue. Whether it is revoked
is a CertificateRevocation signed at revocation, plus its bit in the signed status list kept outside the database
(certificates/status_list.py). The plain columns of the certificates table exist for queries only: nothing here
believes them, and a column that disagrees with the signed snapshot is reported as tampering.

Status is one of valid / revoked / expired / invalid. "invalid" means the record failed an integrity check; which
checks failed is in `problems`. Facts are only offered when the snapshot's signature holds.
"""

from __future__ import annotations

import collections
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from certplatform.certificates.ids import normalize_certificate_id
from certplatform.extensions import db
from certplatform.models import Certificate, CertificateRevocation
from certplatform.models.certificates import IMMUTABLE_FIELDS
from certplatform.models.types import utcnow
from certplatform.services.certificates.issuing import EXPIRED, INVALID, REVOKED, VALID

STATUS_LABELS = {VALID: _l("valid"), REVOKED: _l("revoked"), EXPIRED: _l("expired"), INVALID: _l("not valid")}

# Integrity problems, as the API reports them.
RECORD_SIGNATURE = "record_signature"  # the snapshot does not match its signature, or no known key made it
RECORD_MISMATCH = "record_mismatch"  # a column of the record disagrees with the signed snapshot
REVOCATION_SIGNATURE = "revocation_signature"  # a revocation record is altered or belongs to another certificate
REVOCATION_MISSING = "revocation_missing"  # the signed status list says revoked, but no revocation record says so
STATUS_LIST = "status_list"  # the signed status list itself cannot be read or verified
PROBLEMS = (RECORD_SIGNATURE, RECORD_MISMATCH, REVOCATION_SIGNATURE, REVOCATION_MISSING, STATUS_LIST)
PROBLEM_LABELS = {
    RECORD_SIGNATURE: _l("The stored record does not match the platform's signature: it was altered."),
    RECORD_MISMATCH: _l("The database columns of this record disagree with its signed contents."),
    REVOCATION_SIGNATURE: _l("A revocation record of this certificate was altered or copied from another one."),
    REVOCATION_MISSING: _l("The signed revocation list says this certificate was revoked, but its record is gone."),
    STATUS_LIST: _l("The platform's signed revocation list cannot be verified."),
}


@dataclass(frozen=True)
class TaskEvidence:
    """One exam task as the signed snapshot records it: its share of the exam score and the score it got."""

    task: str
    weight_basis_points: int
    score_basis_points: int


@dataclass(frozen=True)
class SignedFacts:
    """What the verified snapshot says."""

    holder_name_latin: str
    holder_name_zh: str | None
    level: str
    title_en: str
    title_zh: str
    issued_at: datetime
    expires_at: datetime
    renews: str | None
    status_index: int | None  # None in certificates issued before status lists
    pdf_sha256: str | None  # None in certificates issued before the snapshot named its PDF
    exam: str | None = None
    score_basis_points: int | None = None
    evidence: tuple[TaskEvidence, ...] = ()  # empty in certificates issued before snapshots carried it


@dataclass(frozen=True)
class SignedRevocation:
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class Assessment:
    certificate_id: str
    status: str
    facts: SignedFacts | None
    revocation: SignedRevocation | None
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def problem_messages(self) -> list[str]:
        return [str(PROBLEM_LABELS[problem]) for problem in self.problems]


def revocation_payload(cert: Certificate, record: CertificateRevocation) -> dict[str, Any]:
    """What a revocation's signature covers: every column, and the signature of the certificate it revokes."""
    from certplatform.certificates.signing import revocation_record

    return revocation_record(
        certificate_id=record.certificate_id,
        certificate_signature=cert.signature,
        revoked_at=record.revoked_at.isoformat(timespec="seconds"),
        revoked_by=record.revoked_by_id,
        reason=record.reason,
    )


def _facts(snapshot: dict[str, Any]) -> SignedFacts:
    return SignedFacts(
        holder_name_latin=snapshot["holder"]["name_latin"],
        holder_name_zh=snapshot["holder"].get("name_zh"),
        level=snapshot["level"],
        title_en=snapshot["title"]["en"],
        title_zh=snapshot["title"]["zh"],
        issued_at=datetime.fromisoformat(snapshot["issued_at"]),
        expires_at=datetime.fromisoformat(snapshot["expires_at"]),
        renews=snapshot.get("renews"),
        status_index=snapshot.get("status_index"),
        pdf_sha256=snapshot.get("pdf_sha256"),
        exam=snapshot.get("exam"),
        score_basis_points=snapshot.get("score_basis_points"),
        evidence=tuple(
            TaskEvidence(item["task"], item["weight_basis_points"], item["score_basis_points"])
            for item in snapshot.get("evidence") or ()
        ),
    )


def status_index(cert: Certificate, facts: SignedFacts | None) -> int:
    """The certificate's bit in the status list: signed in its snapshot; older certificates have only the column."""
    return facts.status_index if facts is not None and facts.status_index is not None else cert.status_index


def _columns_agree(cert: Certificate, facts: SignedFacts, snapshot: dict[str, Any]) -> bool:
    agree = (
        cert.level.value == facts.level
        and cert.issued_at == facts.issued_at
        and cert.expires_at == facts.expires_at
        and cert.renews_id == facts.renews
    )
    # Newer snapshots also bind the holder's account, the attempt and the status index.
    for column, key in (("user_id", "user_id"), ("attempt_id", "attempt_id"), ("status_index", "status_index")):
        if key in snapshot and getattr(cert, column) != snapshot[key]:
            agree = False
    return agree


class _Context:
    """What assessing needs: the public keys and the signed status list, as the key directory holds them now."""

    def __init__(self, directory: Path) -> None:
        from certplatform.certificates.keys import CertificateKeyError, KeyStore
        from certplatform.certificates.status_list import StatusListError, StatusListStore

        store = KeyStore(directory)
        try:
            self.keys = {keyset.key_id: keyset.ed25519_public for keyset in store.all()}
        except CertificateKeyError:
            self.keys = {}
        self.list_problem = False
        self.revoked_bits: frozenset[int] = frozenset()
        # Verdicts on stored records, keyed on every input of the check, so a record read again is not checked
        # again while these keys hold; an altered record is a new key and is checked afresh.
        self._snapshots: dict[tuple, tuple[dict[str, Any], SignedFacts] | None] = {}
        self._revocations: dict[tuple, bool] = {}
        try:
            self.revoked_bits = StatusListStore(store.directory).revoked(store)
        except StatusListError:
            self.list_problem = True

    @classmethod
    def current(cls) -> _Context:
        """The context for the key directory as it is: read again whenever any file in it changed."""
        from certplatform.certificates.keys import directory_fingerprint

        directory = current_app.config["CERT_KEYS_DIR"]  # as configured: read on every verification, kept cheap
        return _context_for(str(directory), directory_fingerprint(directory))

    def signed_by_us(self, record: dict[str, Any], signature: str, key_id: str) -> bool:
        from certplatform.certificates.signing import verify_snapshot

        key = self.keys.get(key_id)
        return key is not None and verify_snapshot(record, signature, key)

    def verified_snapshot(
        self, cert_id: str, snapshot: dict[str, Any] | str | None, signature: str, key_id: str
    ) -> tuple[dict[str, Any], SignedFacts] | None:
        """The snapshot and its facts if it is this certificate's and signed by us; None otherwise.

        A snapshot given as its stored JSON text is remembered with its verdict, keyed on that text, the ID, the
        signature and the key.
        """
        if not isinstance(snapshot, str):
            return self._check_snapshot(cert_id, snapshot, signature, key_id)
        memo_key = (cert_id, snapshot, signature, key_id)
        if memo_key not in self._snapshots:
            try:
                parsed = json.loads(snapshot)
            except ValueError:
                parsed = None
            _bounded(self._snapshots)[memo_key] = self._check_snapshot(cert_id, parsed, signature, key_id)
        return self._snapshots[memo_key]

    def _check_snapshot(
        self, cert_id: str, snapshot: Any, signature: str, key_id: str
    ) -> tuple[dict[str, Any], SignedFacts] | None:
        if (
            isinstance(snapshot, dict)
            and snapshot.get("certificate_id") == cert_id  # a genuine snapshot copied onto another row is not this one
            and self.signed_by_us(snapshot, signature, key_id)
        ):
            return snapshot, _facts(snapshot)
        return None

    def revocation_holds(self, cert: Any, record: Any) -> bool:
        """Whether a revocation record is this certificate's and its signature, over every column, holds."""
        memo_key = (
            cert.id,
            cert.signature,
            record.certificate_id,
            record.revoked_at,
            record.revoked_by_id,
            record.reason,
            record.key_id,
            record.signature,
        )
        if memo_key not in self._revocations:
            _bounded(self._revocations)[memo_key] = record.certificate_id == cert.id and self.signed_by_us(
                revocation_payload(cert, record), record.signature, record.key_id
            )
        return self._revocations[memo_key]


_MEMO_SIZE = 4096


def _bounded(memo: dict) -> dict:
    """`memo`, emptied first when it is full (records are few and re-read cheaply; this only bounds memory)."""
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    return memo


@functools.lru_cache(maxsize=8)
def _context_for(directory: str, fingerprint: tuple) -> _Context:
    return _Context(Path(directory))


def _assess(cert: Any, record: Any, context: _Context, now: datetime, snapshot: dict[str, Any] | str) -> Assessment:
    """Assess a certificate (a Certificate, or a row with its columns) with its revocation record (or None).

    `snapshot` is the stored snapshot: the parsed document, or its JSON text as the database holds it.
    """
    problems: list[str] = []
    facts: SignedFacts | None = None
    verified = context.verified_snapshot(cert.id, snapshot, cert.signature, cert.key_id)
    if verified is not None:
        document, facts = verified
        if not _columns_agree(cert, facts, document):
            problems.append(RECORD_MISMATCH)
    else:
        problems.append(RECORD_SIGNATURE)

    revocation: SignedRevocation | None = None
    if record is not None:
        if context.revocation_holds(cert, record):
            revocation = SignedRevocation(revoked_at=record.revoked_at, reason=record.reason)
        else:
            problems.append(REVOCATION_SIGNATURE)
    if context.list_problem:
        problems.append(STATUS_LIST)
    if record is None and status_index(cert, facts) in context.revoked_bits:
        problems.append(REVOCATION_MISSING)

    if problems:
        status = INVALID
    elif revocation is not None:
        status = REVOKED
    elif facts is not None and facts.expires_at <= now:
        status = EXPIRED
    else:
        status = VALID
    return Assessment(cert.id, status, facts, revocation, tuple(problems))


def with_revocations(query: sa.Select) -> sa.Select:
    """`query` over Certificate, also selecting each one's revocation record (or None), for `assess_many`."""
    return query.add_columns(CertificateRevocation).outerjoin(
        CertificateRevocation, CertificateRevocation.certificate_id == Certificate.id
    )


def assess_many(
    certs: Iterable[Certificate],
    now: datetime | None = None,
    revocations: dict[str, CertificateRevocation | None] | None = None,
) -> dict[str, Assessment]:
    """Assessments by certificate ID, with one read of the keys and the signed list.

    The revocation records are queried at once, unless `revocations` brings them (see `with_revocations`).
    """
    certs = list(certs)
    if not certs:
        return {}
    now = now or utcnow()
    context = _Context.current()
    if revocations is None:
        revocations = {
            record.certificate_id: record
            for record in db.session.scalars(
                sa.select(CertificateRevocation).where(CertificateRevocation.certificate_id.in_([c.id for c in certs]))
            )
        }
    return {cert.id: _assess(cert, revocations.get(cert.id), context, now, cert.snapshot) for cert in certs}


def assess(cert: Certificate, now: datetime | None = None) -> Assessment:
    return assess_many([cert], now)[cert.id]


_CERTIFICATES = Certificate.__table__
_REVOCATIONS = CertificateRevocation.__table__
_REVOCATION_COLUMNS = ("certificate_id", "revoked_at", "revoked_by_id", "reason", "key_id", "signature")


@dataclass(frozen=True, slots=True)
class _RevocationRow:
    """The columns of a CertificateRevocation that assessing reads."""

    certificate_id: str
    revoked_at: datetime
    revoked_by_id: int | None
    reason: str
    key_id: str
    signature: str


# The one query of the public API and the verify page, built once: its cache key is computed once with it, so a
# request only binds the ID. Just the columns an assessment reads (what the certificate says, as IMMUTABLE_FIELDS
# names it; not the PDF), and the snapshot as its stored JSON text, the key of the verdicts the context remembers.
_LOOKUP = (
    sa.select(
        *(_CERTIFICATES.c[name] for name in IMMUTABLE_FIELDS if name != "snapshot"),
        sa.cast(_CERTIFICATES.c.snapshot, sa.Text).label("snapshot_text"),
        *(_REVOCATIONS.c[name].label(f"revocation_{name}") for name in _REVOCATION_COLUMNS),
    )
    .outerjoin(_REVOCATIONS, _REVOCATIONS.c.certificate_id == _CERTIFICATES.c.id)
    .where(_CERTIFICATES.c.id == sa.bindparam("cert_id"))
)


# The public API's row: the query's columns by their labels.
LookupRow = collections.namedtuple("LookupRow", [column.key for column in _LOOKUP.selected_columns])  # type: ignore[misc]


class _CompiledLookup:
    """`_LOOKUP` compiled for one database dialect, to run on a pooled DBAPI connection.

    On this path SQLAlchemy's execution and result layers cost more than the query itself (about 2.5 times the raw
    query on SQLite); the columns' own type processors still convert each value, so the row is the one
    `connection.execute(_LOOKUP)` returns.
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        compiled = _LOOKUP.compile(dialect=dialect)
        self.sql = compiled.string
        self._compiled = compiled
        self._bind = _CERTIFICATES.c.id.type.dialect_impl(dialect).bind_processor(dialect)
        self._results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in _LOOKUP.selected_columns
        )

    def parameters(self, cert_id: str) -> Any:
        value = self._bind(cert_id) if self._bind is not None else cert_id
        params = self._compiled.construct_params({"cert_id": value})
        if self._compiled.positional:
            return tuple(params[name] for name in self._compiled.positiontup or ())
        return params

    def row(self, values: Sequence[Any]) -> LookupRow:
        return LookupRow(*(value if p is None else p(value) for p, value in zip(self._results, values, strict=True)))


@functools.lru_cache(maxsize=8)
def _compiled_lookup(dialect: sa.Dialect) -> _CompiledLookup:
    return _CompiledLookup(dialect)


def _read(cert_id: str) -> LookupRow | None:
    engine = db.engine
    lookup = _compiled_lookup(engine.dialect)
    connection = engine.raw_connection()  # checked out as any other: pre-pinged, and rolled back when returned
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(lookup.sql, lookup.parameters(cert_id))
            values = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()
    return None if values is None else lookup.row(values)


def find(raw_id: str) -> tuple[LookupRow, Assessment] | None:
    """The record a typed or scanned ID names and its assessment, read in one query and without the ORM.

    The record is a row of the columns an assessment reads (`id`, `key_id` and the rest; not the PDF). Nothing is
    remembered between requests but verdicts on signatures: the row and its revocation are read every time, so a
    revocation or an expiry shows in the very next answer.
    """
    cert_id = normalize_certificate_id(raw_id or "")
    if not cert_id:
        return None
    row = _read(cert_id)
    if row is None:
        return None
    record = None
    if row.revocation_certificate_id is not None:
        record = _RevocationRow(*(getattr(row, f"revocation_{name}") for name in _REVOCATION_COLUMNS))
    return row, _assess(row, record, _Context.current(), utcnow(), row.snapshot_text)


def lookup(raw_id: str) -> Assessment | None:
    """The assessment alone of the certificate a typed or scanned ID names (the public API), as `find` reads it."""
    found = find(raw_id)
    return None if found is None else found[1]


def not_revoked():
    """SQL filter: no revocation record. Only narrows a query; assess() decides."""
    return ~sa.exists().where(CertificateRevocation.certificate_id == Certificate.id)
