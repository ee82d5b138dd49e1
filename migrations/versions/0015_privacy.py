"""privacy: the erasure audit, and a campaign's own event retention

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 05:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'erasure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('recipient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('erased_by', sa.String(length=254), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_erasure_campaign_id_campaign')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_erasure_user_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure')),
    )
    op.create_index(op.f('ix_erasure_recipient_id'), 'erasure', ['recipient_id'], unique=False)
    op.create_index(op.f('ix_erasure_campaign_id'), 'erasure', ['campaign_id'], unique=False)
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('event_retention_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.drop_column('event_retention_days')
    op.drop_index(op.f('ix_erasure_campaign_id'), table_name='erasure')
    op.drop_index(op.f('ix_erasure_recipient_id'), table_name='erasure')
    op.drop_table('erasure')
