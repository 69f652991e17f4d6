"""Quizzes drawn from a pool with limited attempts, a cooldown, answers revealed by policy and module gates; the
questions each attempt was given

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

REVEAL = sa.Enum('after_each_attempt', 'passed_or_out_of_attempts', name='answer_reveal', native_enum=False,
                 create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draw_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cooldown_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reveal', REVEAL, nullable=False, server_default='passed_or_out_of_attempts'))
        batch_op.add_column(sa.Column('gates', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('quiz_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('question_uuids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('open_key', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_draws_quiz_id_quizzes')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiz_draws_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_draws')),
    sa.UniqueConstraint('open_key', name=op.f('uq_quiz_draws_open_key'))
    )
    with op.batch_alter_table('quiz_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_draws_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_draws_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draw_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_quiz_attempts_draw_id'), ['draw_id'])
        batch_op.create_foreign_key(batch_op.f('fk_quiz_attempts_draw_id_quiz_draws'), 'quiz_draws', ['draw_id'],
                                    ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_quiz_attempts_draw_id_quiz_draws'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_quiz_attempts_draw_id'), type_='unique')
        batch_op.drop_column('draw_id')
    with op.batch_alter_table('quiz_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_draws_user_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_draws_quiz_id'))
    op.drop_table('quiz_draws')
    with op.batch_alter_table('quizzes', schema=None) as batch_op:
        batch_op.drop_constraint('answer_reveal', type_='check')
        batch_op.drop_column('gates')
        batch_op.drop_column('reveal')
        batch_op.drop_column('cooldown_minutes')
        batch_op.drop_column('max_attempts')
        batch_op.drop_column('draw_size')
