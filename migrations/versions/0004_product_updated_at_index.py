"""index product.updated_at: the showroom cache asks max(updated_at) on every request

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 16:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index('ix_product_updated_at', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_updated_at')
