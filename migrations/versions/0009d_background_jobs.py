"""background jobs: imports and approvals of big rounds, carried out by the worker with progress

Revision ID: 0009d
Revises: 0009a

A new table; nothing is moved. Going down drops the jobs (their effects stay: the people
imported, the matches approved).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009d'
down_revision = '0009a'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        'background_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', "
                           "'cancelled')", name=op.f('ck_background_job_status')),
        sa.CheckConstraint("kind IN ('import', 'approval')",
                           name=op.f('ck_background_job_kind')),
        sa.ForeignKeyConstraint(['round_id'], ['programme_round.id'],
                                name=op.f('fk_background_job_round_id_programme_round'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'],
                                name=op.f('fk_background_job_requested_by_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job')),
    )
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_background_job_round_id'), ['round_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_background_job_status'), ['status'],
                              unique=False)
        batch_op.create_index('uq_background_job_active_round_kind', ['round_id', 'kind'],
                              unique=True, postgresql_where=ACTIVE, sqlite_where=ACTIVE)


def downgrade() -> None:
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.drop_index('uq_background_job_active_round_kind')
        batch_op.drop_index(batch_op.f('ix_background_job_status'))
        batch_op.drop_index(batch_op.f('ix_background_job_round_id'))
    op.drop_table('background_job')
