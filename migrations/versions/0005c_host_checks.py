"""host checks: each organisation's access route, notice and checks; each booked exchange's
checklist

Revision ID: 0005c
Revises: 0005b

Data moved, not dropped: every organisation starts with what its sector usually needs (the
table below is a copy, so that later changes to the app's defaults do not change what this
migration did). Checklists of exchanges booked before this revision are created by the worker's
safety net (`mentoring.visits.checks.chase_host_checks`), from the organisations' settings.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005c'
down_revision = '0005b'
branch_labels = None
depends_on = None

ACCESS_ROUTES = "access_route IN ('escorted_visitor', 'letter_of_access', 'honorary_contract')"
CHECKLIST_ITEMS = ("item IN ('escorted_visitor', 'letter_of_access', 'honorary_contract', "
                   "'confidentiality', 'photo_id', 'infection_control', 'patients_told', 'dbs')")
ALL_CHECKS = ['confidentiality', 'photo_id', 'infection_control', 'patients_told', 'dbs']
# sector: (access route, notice in weeks, checks)
SECTOR_DEFAULTS = {
    'acute': ('letter_of_access', 4, ALL_CHECKS),
    'mental_health': ('letter_of_access', 4, ALL_CHECKS),
    'community_health': ('letter_of_access', 3,
                         ['confidentiality', 'photo_id', 'infection_control', 'patients_told']),
    'primary_care': ('escorted_visitor', 2, ['confidentiality', 'photo_id', 'patients_told']),
    'community_pharmacy': ('escorted_visitor', 2,
                           ['confidentiality', 'photo_id', 'patients_told']),
    'social_care': ('escorted_visitor', 1, ['confidentiality', 'photo_id', 'dbs']),
    'vcse': ('escorted_visitor', 1, ['confidentiality', 'photo_id']),
    'icb': ('escorted_visitor', 1, ['confidentiality', 'photo_id']),
}
OTHER_DEFAULTS = ('escorted_visitor', 2, ['confidentiality', 'photo_id'])


def _seed_by_sector() -> None:
    organisation = sa.table('organisation', sa.column('sector'), sa.column('access_route'),
                            sa.column('notice_weeks'), sa.column('host_checks', sa.JSON))
    connection = op.get_bind()
    for sector, (route, weeks, checks) in SECTOR_DEFAULTS.items():
        connection.execute(
            organisation.update().where(organisation.c.sector == sector)
            .values(access_route=route, notice_weeks=weeks,
                    host_checks=checks))
    route, weeks, checks = OTHER_DEFAULTS
    connection.execute(
        organisation.update().where(organisation.c.sector.not_in(list(SECTOR_DEFAULTS)))
        .values(access_route=route, notice_weeks=weeks,
                host_checks=checks))


def upgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_route', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='escorted_visitor'))
        batch_op.add_column(sa.Column('notice_weeks', sa.Integer(), nullable=False,
                                      server_default='2'))
        batch_op.add_column(sa.Column('host_checks', sa.JSON(), nullable=True))
    _seed_by_sector()
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.alter_column('access_route', server_default=None)
        batch_op.alter_column('notice_weeks', server_default=None)
        batch_op.alter_column('host_checks', existing_type=sa.JSON(), nullable=False)
        batch_op.create_check_constraint('access_route', sa.text(ACCESS_ROUTES))
        batch_op.create_check_constraint('notice_weeks_range',
                                         sa.text('notice_weeks >= 0 AND notice_weeks <= 26'))

    op.create_table('exchange_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exchange_id', sa.Integer(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint(sa.text(CHECKLIST_ITEMS), name=op.f('ck_exchange_check_item')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['app_user.id'],
                            name=op.f('fk_exchange_check_confirmed_by_id_app_user'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['exchange_id'], ['exchange.id'],
                            name=op.f('fk_exchange_check_exchange_id_exchange'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_check')),
    sa.UniqueConstraint('exchange_id', 'item', name=op.f('uq_exchange_check_exchange_id_item'))
    )
    with op.batch_alter_table('exchange_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_check_exchange_id'), ['exchange_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('exchange_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_check_exchange_id'))
    op.drop_table('exchange_check')

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organisation_notice_weeks_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_organisation_access_route'), type_='check')
        batch_op.drop_column('host_checks')
        batch_op.drop_column('notice_weeks')
        batch_op.drop_column('access_route')
