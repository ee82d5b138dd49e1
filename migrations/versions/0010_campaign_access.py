"""campaign access: an owner per campaign, teams, and campaigns shared as viewer or editor

Until now every marketer saw and changed every campaign. A campaign gets an owner and members
(users or teams, each a viewer or an editor); admins see all. Nobody recorded who created a
campaign, so existing campaigns go to the oldest active admin; without one they stay ownerless,
which means admins only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('name', name=op.f('uq_team_name'))
    )
    op.create_table('team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_team_member_team_id_team'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_team_member_user_id_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_team_member'))
    )
    op.create_index(op.f('ix_team_member_user_id'), 'team_member', ['user_id'])
    op.create_table('campaign_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (team_id IS NULL)',
                       name=op.f('ck_campaign_member_user_or_team')),
    sa.CheckConstraint("role IN ('viewer', 'editor')", name=op.f('ck_campaign_member_role')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                            name=op.f('fk_campaign_member_campaign_id_campaign'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'],
                            name=op.f('fk_campaign_member_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                            name=op.f('fk_campaign_member_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_member')),
    sa.UniqueConstraint('campaign_id', 'user_id', name='uq_campaign_member_user'),
    sa.UniqueConstraint('campaign_id', 'team_id', name='uq_campaign_member_team')
    )
    op.create_index(op.f('ix_campaign_member_user_id'), 'campaign_member', ['user_id'])
    op.create_index(op.f('ix_campaign_member_team_id'), 'campaign_member', ['team_id'])
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_campaign_owner_id_user', 'user', ['owner_id'], ['id'])
        batch_op.create_index('ix_campaign_owner_id', ['owner_id'])

    # Lightweight tables: the migration must not depend on today's models. ("user" is a
    # reserved word in PostgreSQL; these constructs quote it.)
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('role', sa.String),
                    sa.column('active', sa.Boolean), sa.column('created_at', sa.DateTime))
    campaign = sa.table('campaign', sa.column('owner_id', sa.Integer))
    oldest_admin = (sa.select(user.c.id)
                    .where(user.c.role == 'admin', user.c.active.is_(sa.true()))
                    .order_by(user.c.created_at, user.c.id).limit(1).scalar_subquery())
    op.execute(campaign.update().where(campaign.c.owner_id.is_(None))
               .values(owner_id=oldest_admin))


def downgrade():
    with op.batch_alter_table('campaign') as batch_op:
        batch_op.drop_index('ix_campaign_owner_id')
        batch_op.drop_constraint('fk_campaign_owner_id_user', type_='foreignkey')
        batch_op.drop_column('owner_id')
    op.drop_index(op.f('ix_campaign_member_team_id'), table_name='campaign_member')
    op.drop_index(op.f('ix_campaign_member_user_id'), table_name='campaign_member')
    op.drop_table('campaign_member')
    op.drop_index(op.f('ix_team_member_user_id'), table_name='team_member')
    op.drop_table('team_member')
    op.drop_table('team')
