"""recipient: drop the batch_id index nothing reads; it cost a tenth of a million-row batch

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:45:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_recipient_batch_id', table_name='recipient')


def downgrade():
    op.create_index('ix_recipient_batch_id', 'recipient', ['batch_id'], unique=False)
