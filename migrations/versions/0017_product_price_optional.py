"""product price optional (ERP lists without prices: "Preis auf Anfrage") and skus of 255
characters (Shopify's handle limit)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product') as batch_op:
        batch_op.alter_column('price', existing_type=sa.Numeric(10, 2), nullable=True)
        batch_op.alter_column('sku', existing_type=sa.String(length=128),
                              type_=sa.String(length=255), existing_nullable=False)


def downgrade():
    # Products without a price cannot go back: they get 0, as a price the shop must correct.
    op.execute("UPDATE product SET price = 0 WHERE price IS NULL")
    with op.batch_alter_table('product') as batch_op:
        batch_op.alter_column('price', existing_type=sa.Numeric(10, 2), nullable=False)
        batch_op.alter_column('sku', existing_type=sa.String(length=255),
                              type_=sa.String(length=128), existing_nullable=False)
