"""second factors: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes

Revision ID: 0008c
Revises: 0008b

New tables; nothing is moved. Going down drops them: everyone signs in with one factor again,
and coordinators and admins are asked to set one up at their next sign-in.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008c'
down_revision = '0008b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'second_factor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('last_used_step', sa.Integer(), nullable=False),
        sa.Column('credential_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('public_key', sa.Text(), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('totp', 'passkey')", name=op.f('ck_second_factor_kind')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_second_factor_user_id_app_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_second_factor')),
    )
    with op.batch_alter_table('second_factor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_second_factor_user_id'), ['user_id'], unique=False)
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_recovery_code_user_id_app_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('second_factor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_second_factor_user_id'))
    op.drop_table('second_factor')
