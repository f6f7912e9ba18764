"""outcomes: a pair's agreement, check-ins at the round's mid-point and end, and concerns
raised privately with the coordinators (issue 20)

Revision ID: 0008f
Revises: 0008g

Three new tables; no existing row changes. Going down drops them (agreements, check-ins and
concerns written since are lost with them: there is nowhere older to keep them).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008f'
down_revision = '0008g'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('point', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('have_met', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('going_well', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('anything_else', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint("going_well IN ('well', 'partly', 'not_well')", name=op.f('ck_check_in_going_well')),
    sa.CheckConstraint("have_met IN ('yes', 'not_yet')", name=op.f('ck_check_in_have_met')),
    sa.CheckConstraint("point IN ('midpoint', 'end')", name=op.f('ck_check_in_point')),
    sa.ForeignKeyConstraint(['leader_id'], ['leader_profile.id'], name=op.f('fk_check_in_leader_id_leader_profile'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_check_in_match_id_match'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'], name=op.f('fk_check_in_round_id_programme_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in')),
    sa.UniqueConstraint('match_id', 'leader_id', 'point', name=op.f('uq_check_in_match_id_leader_id_point'))
    )
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_match_id'), ['match_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_in_round_id'), ['round_id'], unique=False)

    op.create_table('concern',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_concern_match_id_match'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raised_by_id'], ['leader_profile.id'], name=op.f('fk_concern_raised_by_id_leader_profile'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'], name=op.f('fk_concern_round_id_programme_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concern'))
    )
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concern_match_id'), ['match_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_concern_raised_by_id'), ['raised_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_concern_round_id'), ['round_id'], unique=False)

    op.create_table('pair_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.Column('mentor_learning', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('mentee_learning', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('shared_work', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('keep_in_touch', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('confidential', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('share_with_coordinators', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('mentor_confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('mentee_confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_pair_agreement_match_id_match'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['leader_profile.id'], name=op.f('fk_pair_agreement_updated_by_id_leader_profile'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pair_agreement')),
    sa.UniqueConstraint('match_id', name=op.f('uq_pair_agreement_match_id'))
    )


def downgrade() -> None:
    op.drop_table('pair_agreement')
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concern_round_id'))
        batch_op.drop_index(batch_op.f('ix_concern_raised_by_id'))
        batch_op.drop_index(batch_op.f('ix_concern_match_id'))

    op.drop_table('concern')
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_round_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_match_id'))
        batch_op.drop_index(batch_op.f('ix_check_in_leader_id'))

    op.drop_table('check_in')
