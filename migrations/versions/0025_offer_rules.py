"""offers by rule: a campaign's offer rules, the offer each event's shopper was shown, and
the funnel per offer

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 04:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _bytewise(length):
    # As the models' BytewiseString: compared byte by byte on PostgreSQL.
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation='C'), 'postgresql')


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offers', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
    # A nullable column: instant on a table of millions of events, in both databases.
    op.add_column('event', sa.Column('offer', sa.String(length=64), nullable=True))
    op.create_table(
        'offer_tally',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('offer', sa.String(length=64), nullable=False),
        sa.Column('kind', _bytewise(32), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('campaign_id', 'offer', 'kind'),
    )


def downgrade():
    op.drop_table('offer_tally')
    op.drop_column('event', 'offer')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('offers')
