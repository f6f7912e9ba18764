"""the priority floor becomes a round setting

Revision ID: 0009e
Revises: 0009d

`programme_round.priority_floor`: mentees in the round's priority groups are matched at a rate
at least everyone's whenever that is feasible (the optimiser's `rules.priority_floor`). Existing
rounds keep what they did (false); so do new ones unless the coordinator ticks it. Going down
drops the column (the setting alone is lost; runs keep it in their problem documents).
"""
import sqlalchemy as sa
from alembic import op

revision = '0009e'
down_revision = '0009d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority_floor', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('priority_floor', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('priority_floor')
