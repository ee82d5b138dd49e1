"""campaign showroom: the marketer's heading, introduction, pinned and excluded products and
products per page, kept on the campaign as JSON

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 01:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('showroom', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('showroom')
