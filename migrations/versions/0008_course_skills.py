"""The skills each course's certificate certifies (from course.yaml), for the public certificate page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows get an empty list; the next `content sync` fills in what course.yaml says.
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('skills', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('skills')
