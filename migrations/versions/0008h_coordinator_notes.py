"""coordinator notes: what coordinators write about a participant, private to them and in the
leader's own data export

Revision ID: 0008h
Revises: 0007b

A new table; nothing is moved. Going down drops the notes.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008h'
down_revision = '0007b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'coordinator_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['leader_id'], ['leader_profile.id'],
                                name=op.f('fk_coordinator_note_leader_id_leader_profile'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'],
                                name=op.f('fk_coordinator_note_round_id_programme_round'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id'],
                                name=op.f('fk_coordinator_note_author_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_coordinator_note')),
    )
    with op.batch_alter_table('coordinator_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordinator_note_leader_id'), ['leader_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coordinator_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordinator_note_leader_id'))
    op.drop_table('coordinator_note')
