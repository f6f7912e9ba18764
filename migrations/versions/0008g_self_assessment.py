"""self_assessment: leaders' system-leadership confidence on joining a round and at its end

Revision ID: 0008g
Revises: 0008h

A new table: nothing to move. Going down drops it (and the answers in it).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008g'
down_revision = '0008h'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'self_assessment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('moment', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("moment IN ('joining', 'end')",
                           name=op.f('ck_self_assessment_moment')),
        sa.ForeignKeyConstraint(['leader_id'], ['leader_profile.id'],
                                name=op.f('fk_self_assessment_leader_id_leader_profile'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'],
                                name=op.f('fk_self_assessment_round_id_programme_round'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_self_assessment')),
        sa.UniqueConstraint('round_id', 'leader_id', 'moment',
                            name=op.f('uq_self_assessment_round_id_leader_id_moment')),
    )
    with op.batch_alter_table('self_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_assessment_leader_id'), ['leader_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_self_assessment_round_id'), ['round_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('self_assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_assessment_round_id'))
        batch_op.drop_index(batch_op.f('ix_self_assessment_leader_id'))
    op.drop_table('self_assessment')
