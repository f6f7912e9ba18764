"""reciprocal hosting becomes a choice of three: required, where_possible, off

Revision ID: 0008d
Revises: 0008a

`programme_round.reciprocal` was yes or no; it now says "required", "where_possible" (each
leader hosts at least once when both can host; a pair in which one cannot host has every
exchange at the other's workplace) or "off". Existing rounds keep their behaviour: yes becomes
"required", no becomes "off". New rounds default to "where_possible" (the model's default).
Going down, "where_possible" becomes yes (the nearest of the two old values to its intent).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008d'
down_revision = '0008a'
branch_labels = None
depends_on = None

VALUES = "reciprocal IN ('required', 'where_possible', 'off')"


def upgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reciprocal_rule',
                                      sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
    op.execute("UPDATE programme_round SET reciprocal_rule = "
               "CASE WHEN reciprocal THEN 'required' ELSE 'off' END")
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('reciprocal')
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('reciprocal_rule', new_column_name='reciprocal', nullable=False,
                              existing_type=sa.String(length=20))
        batch_op.create_check_constraint(op.f('ck_programme_round_reciprocal'), VALUES)


def downgrade() -> None:
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_programme_round_reciprocal'), type_='check')
        batch_op.add_column(sa.Column('reciprocal_flag', sa.Boolean(), nullable=True))
    op.execute("UPDATE programme_round SET reciprocal_flag = "
               "CASE WHEN reciprocal = 'off' THEN false ELSE true END")
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.drop_column('reciprocal')
    with op.batch_alter_table('programme_round', schema=None) as batch_op:
        batch_op.alter_column('reciprocal_flag', new_column_name='reciprocal', nullable=False,
                              existing_type=sa.Boolean())
