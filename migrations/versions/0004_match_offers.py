"""match offers: approved matches are offered and their exchanges held until both leaders accept

Revision ID: 0004
Revises: 0003

Data moved, not dropped: `approved` matches become `offered` (and back); each leader's
acceptance, until now only in the audit log (`match.accepted` events), is copied into the new
`mentor_accepted_at` / `mentee_accepted_at` columns; the exchanges of matches that are still
offers stay booked (`scheduled`), as they were booked when approved.
"""
import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

MATCH_STATUSES_BEFORE = ("status IN ('proposed', 'approved', 'rejected', 'accepted', 'declined', "
                         "'cancelled')")
MATCH_STATUSES_AFTER = ("status IN ('proposed', 'offered', 'rejected', 'accepted', 'declined', "
                        "'lapsed', 'cancelled')")
LIVE_BEFORE = "status IN ('approved', 'accepted')"
LIVE_AFTER = "status IN ('offered', 'accepted', 'lapsed')"
EXCHANGE_STATUSES_BEFORE = "status IN ('scheduled', 'completed', 'cancelled')"
EXCHANGE_STATUSES_AFTER = "status IN ('held', 'scheduled', 'completed', 'cancelled')"


def _live_index(batch_op, where: str) -> None:
    batch_op.create_index('uq_match_live_mentee', ['round_id', 'mentee_id'], unique=True,
                          postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def _drop_live_index(batch_op, where: str) -> None:
    batch_op.drop_index('uq_match_live_mentee', postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))


def _copy_acceptances() -> None:
    """Each `match.accepted` audit event becomes the accepting side's timestamp."""
    connection = op.get_bind()
    events = connection.execute(sa.text(
        "SELECT object_id, detail, at FROM audit_event "
        "WHERE action = 'match.accepted' AND object_type = 'Match' ORDER BY at"
    )).all()
    for object_id, detail, created_at in events:
        if isinstance(detail, str):
            detail = json.loads(detail)
        side = (detail or {}).get("side")
        if side not in ("mentor", "mentee") or not str(object_id).isdigit():
            continue
        column = sa.column(f"{side}_accepted_at")
        connection.execute(
            sa.update(sa.table("match", column, sa.column("id")))
            .where(sa.column("id") == int(object_id), column.is_(None))
            .values({column.name: created_at})
        )


def upgrade() -> None:
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offered_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('respond_by', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('mentor_accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('mentee_accepted_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('declined_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decline_choice', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('rematch', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('rematch_note',
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_match_declined_by_id_leader_profile'),
                                    'leader_profile', ['declined_by_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.drop_constraint(op.f('ck_match_status'), type_='check')
        _drop_live_index(batch_op, LIVE_BEFORE)

    op.execute("UPDATE match SET status = 'offered', offered_at = decided_at "
               "WHERE status = 'approved'")
    op.execute("UPDATE match SET rematch = 'requested' "
               "WHERE status = 'declined' AND wants_different_match")
    _copy_acceptances()

    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.create_check_constraint('status', sa.text(MATCH_STATUSES_AFTER))
        _live_index(batch_op, LIVE_AFTER)
        batch_op.alter_column('decline_choice', server_default=None)
        batch_op.alter_column('rematch', server_default=None)
        batch_op.alter_column('rematch_note', server_default=None)

    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_exchange_status'), type_='check')
        batch_op.create_check_constraint('status', sa.text(EXCHANGE_STATUSES_AFTER))

    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_within_days', sa.Integer(), nullable=False,
                                      server_default='7'))
        batch_op.add_column(sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=120),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_email',
                                      sqlmodel.sql.sqltypes.AutoString(length=254),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('joining_closes_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('matching_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('offers_on', sa.Date(), nullable=True))
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('answer_within_days', server_default=None)
        batch_op.alter_column('contact_name', server_default=None)
        batch_op.alter_column('contact_email', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('offers_on')
        batch_op.drop_column('matching_on')
        batch_op.drop_column('joining_closes_on')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('answer_within_days')

    # Held half-days were reservations: before offers existed, approval booked them.
    op.execute("UPDATE exchange SET status = 'scheduled' WHERE status = 'held'")
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_exchange_status'), type_='check')
        batch_op.create_check_constraint('status', sa.text(EXCHANGE_STATUSES_BEFORE))

    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_match_status'), type_='check')
        _drop_live_index(batch_op, LIVE_AFTER)
    # A lapsed offer was still live (approved, unanswered) before lapsing existed.
    op.execute("UPDATE match SET status = 'approved' WHERE status IN ('offered', 'lapsed')")
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.create_check_constraint('status', sa.text(MATCH_STATUSES_BEFORE))
        _live_index(batch_op, LIVE_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_match_declined_by_id_leader_profile'),
                                 type_='foreignkey')
        batch_op.drop_column('rematch_note')
        batch_op.drop_column('rematch')
        batch_op.drop_column('decline_choice')
        batch_op.drop_column('declined_by_id')
        batch_op.drop_column('mentee_accepted_at')
        batch_op.drop_column('mentor_accepted_at')
        batch_op.drop_column('respond_by')
        batch_op.drop_column('offered_at')
