"""catalog imports from the console: the uploaded file, the marketer's choices, progress and
outcome of the job that imports it

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'catalog_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('catalog_name', sa.String(length=64), nullable=False),
        sa.Column('catalog_title', sa.String(length=200), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('input_file_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('options', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('format', sa.String(length=16), nullable=False),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('products_total', sa.Integer(), nullable=False),
        sa.Column('products_done', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('marked_unavailable', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('skipped_file_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.JSON(none_as_null=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['input_file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['skipped_file_id'], ['stored_file.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_catalog_import_created_at', 'catalog_import', ['created_at'])


def downgrade():
    op.drop_index('ix_catalog_import_created_at', table_name='catalog_import')
    op.drop_table('catalog_import')
