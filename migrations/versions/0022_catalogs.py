"""catalogs: an install holds several named catalogs (a shop each); SKUs unique per catalog;
the products stored so far go into the default catalog; covering indexes by category and
by product type, so the showroom counts and ranks in the database

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 19:40:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    catalog = op.create_table('catalog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog')),
    sa.UniqueConstraint('name', name=op.f('uq_catalog_name'))
    )
    # The default catalog: the CLI's and quiz files' choice when they name none.
    op.bulk_insert(catalog, [{'id': 1, 'name': 'default', 'title': 'Standard', 'labels': {},
                              'created_at': dt.datetime.now(dt.UTC)}])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('catalog', 'id'), 1)")
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalog_id', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.alter_column('catalog_id', server_default=None)
        batch_op.create_foreign_key(batch_op.f('fk_product_catalog_id_catalog'), 'catalog',
                                    ['catalog_id'], ['id'])
        batch_op.drop_constraint('uq_product_sku', type_='unique')
        batch_op.create_unique_constraint('uq_product_catalog_sku', ['catalog_id', 'sku'])
        batch_op.drop_index('ix_product_pick')
        batch_op.create_index('ix_product_pick', ['catalog_id', 'available', 'category',
                                                  'product_type', 'price', 'sku'],
                              unique=False, postgresql_include=['id'])
        batch_op.create_index('ix_product_rank', ['catalog_id', 'available', 'product_type',
                                                  'category', 'price', 'sku'],
                              unique=False, postgresql_include=['id'])
        batch_op.drop_index('ix_product_updated_at')
        batch_op.create_index('ix_product_catalog_updated', ['catalog_id', 'updated_at'],
                              unique=False)


def downgrade():
    # Only the default catalog's products can go back into one SKU space.
    op.execute("UPDATE event SET product_id = NULL WHERE product_id IN "
               "(SELECT id FROM product WHERE catalog_id <> 1)")
    op.execute("DELETE FROM product_tag WHERE product_id IN "
               "(SELECT id FROM product WHERE catalog_id <> 1)")
    op.execute("DELETE FROM product WHERE catalog_id <> 1")
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_catalog_updated')
        batch_op.create_index('ix_product_updated_at', ['updated_at'], unique=False)
        batch_op.drop_index('ix_product_rank')
        batch_op.drop_index('ix_product_pick')
        batch_op.create_index('ix_product_pick', ['available', 'category', 'product_type',
                                                  'price'], unique=False)
        batch_op.drop_constraint('uq_product_catalog_sku', type_='unique')
        batch_op.create_unique_constraint('uq_product_sku', ['sku'])
        batch_op.drop_constraint('fk_product_catalog_id_catalog', type_='foreignkey')
        batch_op.drop_column('catalog_id')
    op.drop_table('catalog')
