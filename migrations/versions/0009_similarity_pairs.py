"""Remembered similarity comparisons between submissions (the mentors' integrity report), and an exam's own
similarity threshold from exam.yaml

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('similarity_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('low_sha256', sa.String(length=64), nullable=False),
    sa.Column('high_sha256', sa.String(length=64), nullable=False),
    sa.Column('low_share', sa.Double(), nullable=False),
    sa.Column('high_share', sa.Double(), nullable=False),
    sa.Column('low_regions', sa.JSON(), nullable=False),
    sa.Column('high_regions', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['exam_tasks.id'], name=op.f('fk_similarity_pairs_task_id_exam_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_pairs')),
    sa.UniqueConstraint('key', name=op.f('uq_similarity_pairs_key'))
    )
    with op.batch_alter_table('similarity_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_pairs_task_id'), ['task_id'], unique=False)
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('similarity_threshold', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_column('similarity_threshold')
    with op.batch_alter_table('similarity_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_pairs_task_id'))
    op.drop_table('similarity_pairs')
