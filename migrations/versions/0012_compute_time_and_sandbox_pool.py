"""A submission's compute time (what its tests cost, measured by the harness), and each grading worker's pool of
warm sandboxes as it last reported it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.add_column(sa.Column('compute_s', sa.Double(), nullable=True))
    with op.batch_alter_table('worker_heartbeats') as batch_op:
        batch_op.add_column(sa.Column('sandbox_pool', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('worker_heartbeats') as batch_op:
        batch_op.drop_column('sandbox_pool')
    with op.batch_alter_table('submissions') as batch_op:
        batch_op.drop_column('compute_s')
