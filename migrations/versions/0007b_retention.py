"""retention: when an unused account was warned and anonymised; when a closed round's personal
data was removed

Revision ID: 0007b
Revises: 0007a

Nothing is moved: no account has been warned or anonymised and no round tidied yet. Going down
drops the three dates (what retention removed stays removed).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007b'
down_revision = '0007a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inactivity_warned_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal_data_removed_at',
                                      sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('personal_data_removed_at')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('inactivity_warned_at')
