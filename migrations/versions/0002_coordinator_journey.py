"""coordinator journey: archived rounds, local optimiser runs, approvals, "you said, we did"

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ROUND_STATUSES_BEFORE = "status IN ('draft', 'open', 'matching', 'published', 'closed')"
ROUND_STATUSES_AFTER = "status IN ('draft', 'open', 'matching', 'published', 'closed', 'archived')"


def upgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('you_said_we_did', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('you_said_we_did_published_at',
                                      sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_programme_round_status'), type_='check')
        batch_op.create_check_constraint('status', sa.text(ROUND_STATUSES_AFTER))

    with op.batch_alter_table('optimiser_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10),
                                      nullable=False, server_default='full'))
        batch_op.add_column(sa.Column('scope', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_optimiser_run_approved_by_id_app_user'),
                                    'app_user', ['approved_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint('kind', sa.text("kind IN ('full', 'local')"))

    # The defaults only filled existing rows; the models set every value.
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('you_said_we_did', server_default=None)
    with op.batch_alter_table('optimiser_run', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('note', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('optimiser_run', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_optimiser_run_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_optimiser_run_approved_by_id_app_user'),
                                 type_='foreignkey')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('note')
        batch_op.drop_column('scope')
        batch_op.drop_column('kind')

    op.execute("UPDATE programme_round SET status = 'closed' WHERE status = 'archived'")
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_programme_round_status'), type_='check')
        batch_op.create_check_constraint('status', sa.text(ROUND_STATUSES_BEFORE))
        batch_op.drop_column('you_said_we_did_published_at')
        batch_op.drop_column('you_said_we_did')
