"""recipient: the link carries the code; public_id only for older links; cheaper keys

A million-row batch spent a third of its PostgreSQL time on keys it did not need: a second
random id beside the code (its own unique index), a foreign-key check per row for batch_id,
and locale-aware comparisons of random text (and of the channel) in every index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_NOT_NULL = sa.text("public_id IS NOT NULL")
# Compared byte by byte on PostgreSQL: random keys, and the channel, a code word.
_BYTEWISE = {"public_id": 32, "code": 16, "identity": 128, "channel": 16}


def upgrade():
    # On SQLite this rebuilds the table (env.py lets the rows that refer to it stay).
    with op.batch_alter_table('recipient') as batch_op:
        batch_op.drop_constraint('fk_recipient_batch_id_batch', type_='foreignkey')
        batch_op.drop_constraint('uq_recipient_public_id', type_='unique')
        batch_op.alter_column('public_id', existing_type=sa.String(32), nullable=True)
    op.create_index('uq_recipient_public_id', 'recipient', ['public_id'], unique=True,
                    sqlite_where=_NOT_NULL, postgresql_where=_NOT_NULL)
    if op.get_bind().dialect.name == 'postgresql':
        for column, length in _BYTEWISE.items():
            op.alter_column('recipient', column, type_=sa.String(length, collation='C'),
                            existing_type=sa.String(length))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for column, length in _BYTEWISE.items():
            op.alter_column('recipient', column, type_=sa.String(length),
                            existing_type=sa.String(length, collation='C'))
    op.drop_index('uq_recipient_public_id', table_name='recipient')
    # A link that carries the code keeps working when the code is its public id.
    op.execute("UPDATE recipient SET public_id = code WHERE public_id IS NULL")
    with op.batch_alter_table('recipient') as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(32), nullable=False)
        batch_op.create_unique_constraint('uq_recipient_public_id', ['public_id'])
        batch_op.create_foreign_key('fk_recipient_batch_id_batch', 'batch', ['batch_id'], ['id'])
