"""link tally: the links of each campaign per channel, variant and seed flag, minted and
revoked, kept as links are minted and revoked, counted once from the recipients here

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def _bytewise(length):
    # As the models' BytewiseString: compared byte by byte on PostgreSQL.
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation='C'), 'postgresql')


def backfill(conn) -> None:
    conn.execute(sa.text(
        """INSERT INTO link_tally (campaign_id, channel, variant, is_seed, links, revoked)
        SELECT campaign_id, channel, coalesce(variant, ''), is_seed, count(*),
               sum(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END)
        FROM recipient GROUP BY campaign_id, channel, coalesce(variant, ''), is_seed"""))


def upgrade():
    op.create_table('link_tally',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('channel', _bytewise(16), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('is_seed', sa.Boolean(), nullable=False),
    sa.Column('links', sa.BigInteger(), nullable=False),
    sa.Column('revoked', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'channel', 'variant', 'is_seed'),
    )
    backfill(op.get_bind())


def downgrade():
    op.drop_table('link_tally')
