"""Mentor reviews and certificates; attempts can be approved or rejected by the review.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:37:56.873264

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

STATUSES_BEFORE = ('in_progress', 'grading', 'failed', 'awaiting_review', 'void')
STATUSES_AFTER = ('in_progress', 'grading', 'failed', 'awaiting_review', 'approved', 'rejected', 'void')


def upgrade() -> None:
    op.create_table('certificates',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('L1', 'L2', 'L3', name='cert_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('renews_id', sa.String(length=24), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['exam_attempts.id'], name=op.f('fk_certificates_attempt_id_exam_attempts')),
    sa.ForeignKeyConstraint(['renews_id'], ['certificates.id'], name=op.f('fk_certificates_renews_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificates_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_certificates_attempt_id'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_user_id'), ['user_id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('claimed', 'decided', 'released', name='review_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision', sa.Enum('approve', 'request_changes', 'reject', name='review_decision', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('line_comments', sa.JSON(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['exam_attempts.id'], name=op.f('fk_reviews_attempt_id_exam_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], name=op.f('fk_reviews_mentor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_attempt_id'), ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviews_state'), ['state'], unique=False)

    with op.batch_alter_table('exam_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))
        # The review adds two outcomes to an attempt's status.
        batch_op.drop_constraint(op.f('ck_exam_attempts_attempt_status'), type_='check')
        batch_op.create_check_constraint('attempt_status', sa.column('status').in_(STATUSES_AFTER))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_profile', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('profile_slug', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_profile_slug'), ['profile_slug'])

    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approvals_required', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('resubmit_days', sa.Integer(), nullable=False, server_default='14'))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_profile_slug'), type_='unique')
        batch_op.drop_column('profile_slug')
        batch_op.drop_column('public_profile')
    with op.batch_alter_table('exams', schema=None) as batch_op:
        batch_op.drop_column('resubmit_days')
        batch_op.drop_column('approvals_required')

    with op.batch_alter_table('exam_attempts', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_constraint(op.f('ck_exam_attempts_attempt_status'), type_='check')
        batch_op.create_check_constraint('attempt_status', sa.column('status').in_(STATUSES_BEFORE))

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_state'))
        batch_op.drop_index(batch_op.f('ix_reviews_mentor_id'))
        batch_op.drop_index(batch_op.f('ix_reviews_attempt_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_expires_at'))

    op.drop_table('certificates')
