"""Fair grading: a submission remembers when its grading message was written (a candidate's submissions beyond
the in-flight limit wait without one), a queued submission can be superseded by a newer one of its task, and a
running one holds a lease its worker renews

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

STATUSES_BEFORE = ('queued', 'running', 'passed', 'failed', 'rejected', 'timeout', 'error', 'not_gradable')
STATUSES_AFTER = (*STATUSES_BEFORE, 'superseded')


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submissions_dispatched_at'), ['dispatched_at'], unique=False)
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submissions_lease_expires_at'), ['lease_expires_at'], unique=False)
        batch_op.drop_constraint(op.f('ck_submissions_submission_status'), type_='check')
        batch_op.create_check_constraint('submission_status', sa.column('status').in_(STATUSES_AFTER))
    # Submissions stored before this revision had their message written with them.
    op.execute("UPDATE submissions SET dispatched_at = created_at")


def downgrade() -> None:
    op.execute("UPDATE submissions SET status = 'not_gradable' WHERE status = 'superseded'")
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_submissions_submission_status'), type_='check')
        batch_op.create_check_constraint('submission_status', sa.column('status').in_(STATUSES_BEFORE))
        batch_op.drop_index(batch_op.f('ix_submissions_lease_expires_at'))
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_index(batch_op.f('ix_submissions_dispatched_at'))
        batch_op.drop_column('dispatched_at')
