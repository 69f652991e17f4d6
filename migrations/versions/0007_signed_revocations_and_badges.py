"""Signed, append-only revocation records; status-list indexes and stored Open Badges on certificates.

Revocation moves out of three editable columns of `certificates` into `certificate_revocations`, whose rows are
signed and which the database refuses to update or delete. Existing revocations are signed here with the active
key from the key directory, and their bits are set in the signed status list kept there; for that the migration
uses the certificate library (pure functions, no application models). Downgrading copies them back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00

"""
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_APPEND_ONLY = "revocations are append-only"

certificates = sa.table(
    "certificates",
    sa.column("id", sa.String),
    sa.column("issued_at", sa.DateTime),
    sa.column("signature", sa.String),
    sa.column("status_index", sa.Integer),
    sa.column("revoked_at", sa.DateTime),
    sa.column("revoked_by_id", sa.Integer),
    sa.column("revocation_reason", sa.Text),
)
revocations = sa.table(
    "certificate_revocations",
    sa.column("certificate_id", sa.String),
    sa.column("revoked_at", sa.DateTime),
    sa.column("revoked_by_id", sa.Integer),
    sa.column("reason", sa.Text),
    sa.column("key_id", sa.String),
    sa.column("signature", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('open_badge', sa.Text(), nullable=True))
    bind = op.get_bind()
    # Existing certificates take the first indexes, in the order they were issued.
    ids = bind.execute(sa.select(certificates.c.id).order_by(certificates.c.issued_at, certificates.c.id)).scalars()
    for index, cert_id in enumerate(list(ids)):
        bind.execute(certificates.update().where(certificates.c.id == cert_id).values(status_index=index))
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.alter_column('status_index', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_status_index'), ['status_index'])

    op.create_table('certificate_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.String(length=24), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_revocations_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificate_revocations_revoked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_revocations')),
    sa.UniqueConstraint('certificate_id', name=op.f('uq_certificate_revocations_certificate_id'))
    )
    _sign_existing_revocations()
    _create_guards()

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_certificates_revoked_by_id_users'), type_='foreignkey')
        batch_op.drop_column('revocation_reason')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_at')


def _sign_existing_revocations() -> None:
    from certplatform.certificates.keys import KeyStore
    from certplatform.certificates.signing import revocation_record, sign_snapshot
    from certplatform.certificates.status_list import StatusListStore

    bind = op.get_bind()
    revoked = bind.execute(
        sa.select(
            certificates.c.id,
            certificates.c.signature,
            certificates.c.status_index,
            certificates.c.revoked_at,
            certificates.c.revoked_by_id,
            certificates.c.revocation_reason,
        ).where(certificates.c.revoked_at.is_not(None))
    ).all()
    if not revoked:
        return
    store = KeyStore(Path(current_app.config["CERT_KEYS_DIR"]))
    if not store.exists():
        raise RuntimeError(
            f"{len(revoked)} revoked certificate(s) need signing, but there are no signing keys in "
            f"{store.directory}: set CERT_KEYS_DIR to the key directory the certificates were issued with"
        )
    keyset = store.active()
    for row in revoked:
        revoked_at = row.revoked_at.replace(tzinfo=UTC, microsecond=0)
        reason = (row.revocation_reason or "").strip() or "Revoked"
        record = revocation_record(
            certificate_id=row.id,
            certificate_signature=row.signature,
            revoked_at=revoked_at.isoformat(timespec="seconds"),
            revoked_by=row.revoked_by_id,
            reason=reason,
        )
        bind.execute(
            revocations.insert().values(
                certificate_id=row.id,
                revoked_at=revoked_at.replace(tzinfo=None),
                revoked_by_id=row.revoked_by_id,
                reason=reason,
                key_id=keyset.key_id,
                signature=sign_snapshot(record, keyset),
            )
        )
    base = current_app.config["PUBLIC_BASE_URL"]
    StatusListStore(store.directory).add(
        {row.status_index for row in revoked},
        keystore=store,
        list_url=f"{base}/api/v1/certificates/status-list",
        issuer_url=f"{base}/api/v1/issuer",
        issuer_name=keyset.issuer_name,
        now=datetime.now(UTC),
    )


def _create_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION certificate_revocations_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$"
        )
        op.execute(
            "CREATE TRIGGER certificate_revocations_no_change BEFORE UPDATE OR DELETE ON certificate_revocations "
            "FOR EACH ROW EXECUTE FUNCTION certificate_revocations_append_only()"
        )
        op.execute(
            "CREATE TRIGGER certificate_revocations_no_truncate BEFORE TRUNCATE ON certificate_revocations "
            "FOR EACH STATEMENT EXECUTE FUNCTION certificate_revocations_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER certificate_revocations_no_{verb.lower()} BEFORE {verb} ON certificate_revocations "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER certificate_revocations_no_truncate ON certificate_revocations")
        op.execute("DROP TRIGGER certificate_revocations_no_change ON certificate_revocations")
        op.execute("DROP FUNCTION certificate_revocations_append_only()")
    else:
        op.execute("DROP TRIGGER certificate_revocations_no_update")
        op.execute("DROP TRIGGER certificate_revocations_no_delete")


def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revocation_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificates_revoked_by_id_users'), 'users', ['revoked_by_id'], ['id'])
    bind = op.get_bind()
    for row in bind.execute(sa.select(revocations)).all():
        bind.execute(
            certificates.update()
            .where(certificates.c.id == row.certificate_id)
            .values(revoked_at=row.revoked_at, revoked_by_id=row.revoked_by_id, revocation_reason=row.reason)
        )
    _drop_guards()
    op.drop_table('certificate_revocations')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_certificates_status_index'), type_='unique')
        batch_op.drop_column('open_badge')
        batch_op.drop_column('status_index')
