"""blackouts: days of a round's window when no exchange can take place, with a reason

Revision ID: 0005a
Revises: 0004

A new table; nothing is moved. Bank holidays are not stored: they come from the `holidays`
package for the deployment's region.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005a'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'round_blackout',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_round_blackout_in_order')),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'],
                                name=op.f('fk_round_blackout_created_by_id_app_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'],
                                name=op.f('fk_round_blackout_round_id_programme_round'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_round_blackout')),
    )
    with op.batch_alter_table('round_blackout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_blackout_round_id'), ['round_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('round_blackout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_blackout_round_id'))
    op.drop_table('round_blackout')
