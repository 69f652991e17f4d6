"""The task outbox (messages committed with the change that needs them, sent when the broker answers);
server-side sessions, so that logout and a password change end them; rate-limit counters in the database, shared
by every web process when there is no Redis; the managing role held per organization

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:00:00.255010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=100), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('available_at', sa.DateTime(), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_available_at'), ['available_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_ref'), ['ref'], unique=False)

    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )

    with op.batch_alter_table('organization_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manages', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Until now the platform role managed every organization one belonged to: keep what existing members could do
    # (an administrator then narrows it on the organization's page).
    op.execute(
        """
        UPDATE organization_memberships SET manages = true
        WHERE EXISTS (
            SELECT 1 FROM organizations o JOIN user_roles r ON r.user_id = organization_memberships.user_id
            WHERE o.id = organization_memberships.organization_id
              AND ((o.kind = 'university' AND r.role = 'university_admin')
                OR (o.kind = 'company' AND r.role = 'company_member'))
        )
        """
    )



def downgrade() -> None:
    with op.batch_alter_table('organization_memberships', schema=None) as batch_op:
        batch_op.drop_column('manages')
    op.drop_table('rate_limit_counters')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_ref'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_available_at'))

    op.drop_table('outbox_messages')
