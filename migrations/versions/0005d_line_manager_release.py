"""line-manager release: a round may ask each leader's line manager to release the time for
booked exchanges; leaders name their line manager; each answer is a `time_release` row

Revision ID: 0005d
Revises: 0005c

Nothing is moved: every existing round keeps not asking (the new setting is off), and no
profile names a line manager until its leader adds one. Going down drops the answers given.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005d'
down_revision = '0005c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ask_line_manager_release', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('ask_line_manager_release', server_default=None)

    with op.batch_alter_table('leader_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_manager_name',
                                      sqlmodel.sql.sqltypes.AutoString(length=120),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('line_manager_email',
                                      sqlmodel.sql.sqltypes.AutoString(length=254),
                                      nullable=False, server_default=''))
    with op.batch_alter_table('leader_profile', schema=None) as batch_op:
        batch_op.alter_column('line_manager_name', server_default=None)
        batch_op.alter_column('line_manager_email', server_default=None)

    op.create_table(
        'time_release',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('match_id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('manager_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('manager_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('exchanges', sa.JSON(), nullable=False),
        sa.Column('requested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.CheckConstraint("status IN ('requested', 'released', 'declined')",
                           name=op.f('ck_time_release_status')),
        sa.ForeignKeyConstraint(['leader_id'], ['leader_profile.id'],
                                name=op.f('fk_time_release_leader_id_leader_profile'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['match_id'], ['match.id'],
                                name=op.f('fk_time_release_match_id_match'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_time_release')),
        sa.UniqueConstraint('match_id', 'leader_id',
                            name=op.f('uq_time_release_match_id_leader_id')),
    )
    with op.batch_alter_table('time_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_time_release_leader_id'), ['leader_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_time_release_match_id'), ['match_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('time_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_time_release_match_id'))
        batch_op.drop_index(batch_op.f('ix_time_release_leader_id'))
    op.drop_table('time_release')

    with op.batch_alter_table('leader_profile', schema=None) as batch_op:
        batch_op.drop_column('line_manager_email')
        batch_op.drop_column('line_manager_name')

    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('ask_line_manager_release')
