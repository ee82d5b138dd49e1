"""api keys: hashed keys for the JSON API, scoped to all or some campaigns

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 04:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _bytewise(length):
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prefix', _bytewise(16), nullable=False),
        sa.Column('key_hash', _bytewise(64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('all_campaigns', sa.Boolean(), nullable=False),
        sa.Column('read_only', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_api_key_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash')),
    )
    op.create_index(op.f('ix_api_key_prefix'), 'api_key', ['prefix'], unique=False)
    op.create_index(op.f('ix_api_key_user_id'), 'api_key', ['user_id'], unique=False)
    op.create_table(
        'api_key_campaign',
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_key.id'],
                                name=op.f('fk_api_key_campaign_api_key_id_api_key'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_api_key_campaign_campaign_id_campaign'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('api_key_id', 'campaign_id', name=op.f('pk_api_key_campaign')),
    )
    op.create_index(op.f('ix_api_key_campaign_campaign_id'), 'api_key_campaign',
                    ['campaign_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_api_key_campaign_campaign_id'), table_name='api_key_campaign')
    op.drop_table('api_key_campaign')
    op.drop_index(op.f('ix_api_key_user_id'), table_name='api_key')
    op.drop_index(op.f('ix_api_key_prefix'), table_name='api_key')
    op.drop_table('api_key')
