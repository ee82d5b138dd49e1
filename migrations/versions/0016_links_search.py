"""links table: keyset pages and prefix search from indexes; events export by time

The links table counted every matching row, paged by OFFSET and searched with
``LIKE '%…%'`` over five columns: 4.3 s at a million recipients. It now pages by id within
the campaign and searches by prefix of the lower-cased name, email and customer number (and
the code, whose unique index serves already). On PostgreSQL the lower-cased values are
compared in the C collation, so a prefix is a plain index range. The events export reads a
campaign's events along (campaign, time, id), chunk after chunk, for any time window.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 05:15:00

"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

SEARCHED = ('first_name', 'last_name', 'email', 'external_id')


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_index('ix_recipient_campaign_order', 'recipient', ['campaign_id', 'id'])
    op.create_index('ix_event_export', 'event', ['campaign_id', 'created_at', 'id'])
    for column in SEARCHED:
        lowered = f'(lower({column}) COLLATE "C")' if postgres else f'lower({column})'
        op.execute(f'CREATE INDEX ix_recipient_search_{column} ON recipient '
                   f'(campaign_id, {lowered})')


def downgrade():
    for column in SEARCHED:
        op.drop_index(f'ix_recipient_search_{column}', table_name='recipient')
    op.drop_index('ix_recipient_campaign_order', table_name='recipient')
    op.drop_index('ix_event_export', table_name='event')
