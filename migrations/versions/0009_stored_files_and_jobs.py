"""stored files in the database; batch: what a job runs, its files and its attempts

A list uploaded on one machine must be readable by a worker on another, so uploads and
results are kept in the database in 1 MiB chunks. A batch keeps the options it was queued
with, so a worker that takes it over (its first worker was killed) knows what to run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_FILES = ('input_file_id', 'output_file_id', 'errors_file_id', 'qr_file_id')


def upgrade():
    op.create_table('stored_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_file'))
    )
    op.create_table('stored_file_chunk',
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'],
                            name=op.f('fk_stored_file_chunk_file_id_stored_file'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('file_id', 'seq', name=op.f('pk_stored_file_chunk'))
    )
    with op.batch_alter_table('batch') as batch_op:
        batch_op.add_column(sa.Column('options', sa.JSON(), nullable=True))
        for column in _FILES:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_batch_{column}_stored_file', 'stored_file',
                                        [column], ['id'])
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    with op.batch_alter_table('batch') as batch_op:
        batch_op.drop_column('attempts')
        for column in reversed(_FILES):
            batch_op.drop_constraint(f'fk_batch_{column}_stored_file', type_='foreignkey')
            batch_op.drop_column(column)
        batch_op.drop_column('options')
    op.drop_table('stored_file_chunk')
    op.drop_table('stored_file')
