"""The migrations build exactly the models' schema from empty, and take it down again, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from certplatform import create_app
from certplatform.extensions import db
from tests import services

# One user and one exam, as raw SQL valid for every revision since 0003 (tests seed migrated databases with them).
INSERT_USER = (
    "INSERT INTO users (id, email, name_latin, password_hash, active, created_at) "
    "VALUES (1, 'a@example.com', 'A', 'x', true, CURRENT_TIMESTAMP)"
)
INSERT_EXAM = (
    "INSERT INTO exams (uuid, slug, level, title, instructions, time_limit_minutes, pass_mark,"
    " cooldown_hours, max_attempts, window_days, runtime, path, rubric, content_version,"
    " approvals_required, resubmit_days) VALUES ('00000000-0000-4000-8000-000000000001', 'e', 'L1',"
    " '{}', '{}', 1, 0.7, 24, 3, 365, 'triton-cpu', 'exams/e', '[]', 'v', 1, 14)"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    url = services.POSTGRES_URL.replace("certplatform_test_", "certplatform_migrations_")
    services.create_database(url)
    request.addfinalizer(lambda: services.drop_database(url))
    return url


def test_upgrade_matches_models_then_downgrade_to_base(empty_database: str) -> None:
    app = create_app({"ENV_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], "models and migrations disagree; generate a migration with `certplatform db migrate`"

        # The database itself keeps the audit log append-only.
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (created_at, action, target_type, details) "
                    "VALUES (CURRENT_TIMESTAMP, 'test.event', 'test', '{}')"
                )
            )
        for statement in ("UPDATE audit_events SET action = 'rewritten'", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as conn:
                conn.execute(sa.text(statement))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT action FROM audit_events")).scalars().all() == ["test.event"]

        # Every status the models know is accepted by the migrated CHECK constraints, and no other.
        from certplatform.models import AttemptStatus

        with db.engine.begin() as conn:
            conn.execute(sa.text(INSERT_USER))
            conn.execute(sa.text(INSERT_EXAM))
            for status in AttemptStatus:
                conn.execute(
                    sa.text(
                        "INSERT INTO exam_attempts (user_id, exam_id, status, started_at, deadline_at, task_scores,"
                        " content_version, revision) SELECT u.id, e.id, :s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}',"
                        " 'v', 0 FROM users u, exams e"
                    ),
                    {"s": status.value},
                )
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE exam_attempts SET status = 'teleported'"))
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM exam_attempts"))
            conn.execute(sa.text("DELETE FROM exams"))
            conn.execute(sa.text("DELETE FROM users"))

        downgrade(revision="base")
        with db.engine.connect() as conn:
            remaining = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()
