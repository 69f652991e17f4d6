"""Migration 0007 on a database with certificates: revocations become signed records, nothing changes status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from certplatform import create_app
from certplatform.certificates.keys import KeyStore
from certplatform.certificates.signing import sign_snapshot
from certplatform.certificates.status_list import StatusListStore
from certplatform.extensions import db
from tests.test_migrations import (
    INSERT_EXAM,
    INSERT_USER,
    empty_database,  # noqa: F401 - the fixture: an empty SQLite or PostgreSQL database
)

ISSUED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _seed(conn, attempts: int) -> None:
    """A user, an exam and approved attempts with ids 1..attempts, in the 0005 schema."""
    conn.execute(sa.text(INSERT_USER))
    conn.execute(sa.text(INSERT_EXAM))
    for attempt_id in range(1, attempts + 1):
        conn.execute(
            sa.text(
                "INSERT INTO exam_attempts (id, user_id, exam_id, status, started_at, deadline_at,"
                " task_scores, content_version, revision) SELECT :a, 1, e.id, 'approved',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}', 'v', 0 FROM exams e"
            ),
            {"a": attempt_id},
        )


def _legacy_certificate(conn, store: KeyStore, cert_id: str, attempt_id: int, revoked: bool) -> None:
    """A certificate as 0004/0005 stored it: a snapshot without status index or PDF hash; revocation in columns."""
    snapshot = {
        "certificate_id": cert_id,
        "holder": {"name_latin": "A", "name_zh": None},
        "level": "L1",
        "title": {"en": "FlagOS Operator Development Engineer", "zh": "FlagOS 算子开发工程师"},
        "exam": "e",
        "score_basis_points": 9500,
        "issued_at": ISSUED.isoformat(timespec="seconds"),
        "expires_at": (ISSUED + timedelta(days=730)).isoformat(timespec="seconds"),
        "content_version": "v",
        "renews": None,
        "issuer": "FlagOS Certification",
    }
    conn.execute(
        sa.text(
            "INSERT INTO certificates (id, user_id, attempt_id, level, issued_at, expires_at, snapshot, signature,"
            " key_id, pdf, revoked_at, revoked_by_id, revocation_reason) SELECT :id, u.id, :attempt, 'L1', :issued,"
            " :expires, :snapshot, :signature, :key, :pdf, :revoked_at, :by, :reason FROM users u"
        ),
        {
            "id": cert_id,
            "attempt": attempt_id,
            "issued": ISSUED.replace(tzinfo=None),
            "expires": (ISSUED + timedelta(days=730)).replace(tzinfo=None),
            "snapshot": json.dumps(snapshot),
            "signature": sign_snapshot(snapshot, store.active()),
            "key": store.active().key_id,
            "pdf": b"%PDF-1.7 legacy",
            "revoked_at": datetime(2026, 6, 1, 12, 0, 0, 123456) if revoked else None,
            "by": 1 if revoked else None,
            "reason": "Plagiarism" if revoked else None,
        },
    )


def test_existing_revocations_are_signed_and_survive_a_round_trip(empty_database: str, tmp_path: Path) -> None:  # noqa: F811
    keys_dir = tmp_path / "keys"
    store = KeyStore(keys_dir)
    store.init()
    app = create_app(
        {
            "ENV_NAME": "test",
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "CERT_KEYS_DIR": str(keys_dir),
            "PUBLIC_BASE_URL": "https://cert.example.org",
        }
    )
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            _seed(conn, 2)
            _legacy_certificate(conn, store, "FLAGOS-L1-AAAA-AAAA", 1, revoked=False)
            _legacy_certificate(conn, store, "FLAGOS-L1-BBBB-BBBB", 2, revoked=True)

        upgrade()
        from certplatform.models import Certificate
        from certplatform.services import certificates

        kept, revoked = (db.session.get(Certificate, i) for i in ("FLAGOS-L1-AAAA-AAAA", "FLAGOS-L1-BBBB-BBBB"))
        assert (kept.status_index, revoked.status_index) == (0, 1), "indexes in the order of issue"
        found = certificates.status.assess_many([kept, revoked], now=ISSUED + timedelta(days=200))
        assert found[kept.id].status == "valid" and found[kept.id].intact
        assert found[revoked.id].status == "revoked" and found[revoked.id].intact
        assert found[revoked.id].revocation.reason == "Plagiarism"
        assert StatusListStore(keys_dir).revoked(store) == {1}, "the signed list witnesses the old revocation"
        db.session.remove()

        # The database itself keeps revocations append-only.
        for statement in ("UPDATE certificate_revocations SET reason = 'none'", "DELETE FROM certificate_revocations"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
                conn.execute(sa.text(statement))

        downgrade(revision="0005")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL")
            ).all()
        assert [tuple(row) for row in rows] == [("FLAGOS-L1-BBBB-BBBB", "Plagiarism")]
        db.engine.dispose()


def test_revoked_certificates_without_keys_stop_the_migration(empty_database: str, tmp_path: Path, caplog) -> None:  # noqa: F811
    keys_dir = tmp_path / "keys"
    store = KeyStore(tmp_path / "issued-with")
    store.init()
    app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database, "CERT_KEYS_DIR": str(keys_dir)})
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            _seed(conn, 1)
            _legacy_certificate(conn, store, "FLAGOS-L1-BBBB-BBBB", 1, revoked=True)
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits, as `certplatform db upgrade` does
            upgrade()
        assert "set CERT_KEYS_DIR to the key directory the certificates were issued with" in caplog.text
        db.engine.dispose()
