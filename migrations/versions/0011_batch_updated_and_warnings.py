"""batch: updated (known people a re-run corrected) and warnings (rows worth a look)

A corrected list now updates the people it knows instead of only reusing their links, and
names that look like phone numbers or formulas are minted but reported: both are counted on
the batch row, so the console can say so after the run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('batch') as batch_op:
        batch_op.add_column(sa.Column('updated', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('warnings', sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table('batch') as batch_op:
        batch_op.drop_column('warnings')
        batch_op.drop_column('updated')
