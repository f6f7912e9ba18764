"""proposal removals: a pair taken out of a run's proposal is a row, not an edit of the run's
solution (issue 17 item 1: an earlier run's proposal never changes)

Revision ID: 0009a
Revises: 0008c

Moved: each run's `solution["removed"]` list becomes rows of `proposal_removal` (who removed
it read back from the reason the old code wrote: "removed from this proposal by EMAIL"), and
the key leaves the solution. The pairs the old code took out of `pairs` stay out (the solution
no longer holds them), and their mentees stay listed as unmatched with that reason.

Going down puts the rows back the old way: a pair still in the solution is taken out of it
with its exchanges, its mentee listed as unmatched, and `removed` lists every removal again.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009a'
down_revision = '0008c'
branch_labels = None
depends_on = None

REMOVED_BY = "removed from this proposal by "

runs = sa.table('optimiser_run', sa.column('id', sa.Integer), sa.column('solution', sa.JSON))


def _solution(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    op.create_table(
        'proposal_removal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('mentor_id', sa.Integer(), nullable=False),
        sa.Column('mentee_id', sa.Integer(), nullable=False),
        sa.Column('removed_by_id', sa.Integer(), nullable=True),
        sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['optimiser_run.id'],
                                name=op.f('fk_proposal_removal_run_id_optimiser_run'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mentor_id'], ['leader_profile.id'],
                                name=op.f('fk_proposal_removal_mentor_id_leader_profile'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mentee_id'], ['leader_profile.id'],
                                name=op.f('fk_proposal_removal_mentee_id_leader_profile'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['removed_by_id'], ['app_user.id'],
                                name=op.f('fk_proposal_removal_removed_by_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_removal')),
        sa.UniqueConstraint('run_id', 'mentor_id', 'mentee_id',
                            name=op.f('uq_proposal_removal_run_id_mentor_id_mentee_id')),
    )
    with op.batch_alter_table('proposal_removal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_removal_run_id'), ['run_id'],
                              unique=False)
    _move_removals_into_rows()


def _move_removals_into_rows() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(runs.c.id, sa.cast(runs.c.solution, sa.Text).label('text'))
        .where(sa.cast(runs.c.solution, sa.Text).like('%"removed"%'))
    ).all()
    if not rows:
        return
    leaders = set(connection.execute(sa.text('SELECT id FROM leader_profile')).scalars())
    users = dict(connection.execute(sa.text('SELECT email, id FROM app_user')).all())
    removal = sa.table('proposal_removal', sa.column('run_id'), sa.column('mentor_id'),
                       sa.column('mentee_id'), sa.column('removed_by_id'),
                       sa.column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    now = datetime.now(UTC)  # when it moved: the old code kept no time
    for run_id, text in rows:
        solution = _solution(text)
        if not isinstance(solution, dict) or 'removed' not in solution:
            continue
        removed_by = {}
        for item in solution.get('unmatched', []):
            reason = str(item.get('reason', ''))
            if reason.startswith(REMOVED_BY):
                removed_by[str(item.get('id'))] = users.get(reason[len(REMOVED_BY):])
        seen = set()
        for pair in solution.pop('removed') or []:
            mentor, mentee = str(pair.get('mentor', '')), str(pair.get('mentee', ''))
            if not (mentor.isdigit() and mentee.isdigit()):
                continue
            key = (int(mentor), int(mentee))
            # A leader whose account has gone takes their removals with them, as the table's
            # foreign keys would have.
            if key in seen or not set(key) <= leaders:
                continue
            seen.add(key)
            connection.execute(sa.insert(removal).values(
                run_id=run_id, mentor_id=key[0], mentee_id=key[1],
                removed_by_id=removed_by.get(mentee), removed_at=now))
        connection.execute(sa.update(runs).where(runs.c.id == run_id)
                           .values(solution=solution))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        'SELECT r.run_id, r.mentor_id, r.mentee_id, u.email FROM proposal_removal r '
        'LEFT JOIN app_user u ON u.id = r.removed_by_id ORDER BY r.id')).all()
    by_run = defaultdict(list)
    for run_id, mentor_id, mentee_id, email in rows:
        by_run[run_id].append((str(mentor_id), str(mentee_id), email or 'a coordinator'))
    for run_id, removals in by_run.items():
        text = connection.execute(sa.select(sa.cast(runs.c.solution, sa.Text))
                                  .where(runs.c.id == run_id)).scalar()
        solution = _solution(text)
        if not isinstance(solution, dict):
            continue
        removed = list(solution.get('removed', []))
        for mentor, mentee, email in removals:
            pairs = [p for p in solution.get('pairs', [])
                     if (p['mentor'], p['mentee']) != (mentor, mentee)]
            if len(pairs) < len(solution.get('pairs', [])):
                solution['pairs'] = pairs
                solution['exchanges'] = [x for x in solution.get('exchanges', [])
                                         if {x['host'], x['visitor']} != {mentor, mentee}]
                solution['unmatched'] = [*solution.get('unmatched', []),
                                         {'id': mentee, 'reason': REMOVED_BY + email}]
            if {'mentor': mentor, 'mentee': mentee} not in removed:
                removed.append({'mentor': mentor, 'mentee': mentee})
        solution['removed'] = removed
        connection.execute(sa.update(runs).where(runs.c.id == run_id)
                           .values(solution=solution))
    with op.batch_alter_table('proposal_removal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_removal_run_id'))
    op.drop_table('proposal_removal')
