"""visit details: where a host's visitors go, copied to each exchange; phones; a shared note

Revision ID: 0005b
Revises: 0005a

New columns only, all with empty defaults: hosts give their visit details on their profile (the
profile asks them next time they open it), and exchanges booked before this keep the place they
had (`location`). Going down, an exchange's address is kept in `location` (as far as it fits),
the only place the older schema has for it.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005b'
down_revision = '0005a'
branch_labels = None
depends_on = None

PROFILE_COLUMNS = (
    ('phone', 30), ('visit_site', 160), ('visit_address', 300), ('visit_directions', 1000),
    ('visit_meeting', 500), ('visit_bring', 500), ('visit_accessibility', 1000),
    ('visit_phone', 30),
)
EXCHANGE_COLUMNS = (
    ('address', 300), ('directions', 1000), ('meeting', 500), ('bring', 500),
    ('accessibility', 1000), ('phone', 30), ('note', 500),
)


def _add_text_columns(table: str, columns) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, length in columns:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length),
                                          nullable=False, server_default=''))
        if table == 'exchange':
            batch_op.add_column(sa.Column('note_updated_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                          nullable=True))
            batch_op.add_column(sa.Column('note_updated_by_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f('fk_exchange_note_updated_by_id_leader_profile'), 'leader_profile',
                ['note_updated_by_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, _ in columns:
            batch_op.alter_column(name, server_default=None)


def upgrade() -> None:
    _add_text_columns('leader_profile', PROFILE_COLUMNS)
    _add_text_columns('exchange', EXCHANGE_COLUMNS)


def downgrade() -> None:
    op.execute(
        "UPDATE exchange SET location = substr(CASE WHEN location = '' THEN address "
        "ELSE location || ', ' || address END, 1, 300) WHERE address <> ''"
    )
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exchange_note_updated_by_id_leader_profile'),
                                 type_='foreignkey')
        batch_op.drop_column('note_updated_by_id')
        batch_op.drop_column('note_updated_at')
        for name, _ in reversed(EXCHANGE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table('leader_profile', schema=None) as batch_op:
        for name, _ in reversed(PROFILE_COLUMNS):
            batch_op.drop_column(name)
