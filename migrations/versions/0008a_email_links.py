"""email links: single-use confirmation and reset links; emails asked for, counted for limits

Revision ID: 0008a
Revises: 0008f

Nothing is moved: links sent before this revision were signed tokens that no longer open
anything (a confirmation link there is asked for again from the registration page, a reset link
from the reset page). Going down drops both tables.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008a'
down_revision = '0008f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                            name=op.f('fk_email_link_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_link_token_hash'))
    )
    with op.batch_alter_table('email_link', schema=None) as batch_op:
        batch_op.create_index('ix_email_link_email_purpose', ['email', 'purpose'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_link_user_id'), ['user_id'], unique=False)

    op.create_table('email_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_request'))
    )
    with op.batch_alter_table('email_request', schema=None) as batch_op:
        batch_op.create_index('ix_email_request_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_email_request_ip_at', ['ip', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_request', schema=None) as batch_op:
        batch_op.drop_index('ix_email_request_ip_at')
        batch_op.drop_index('ix_email_request_email_at')
    op.drop_table('email_request')
    with op.batch_alter_table('email_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_link_user_id'))
        batch_op.drop_index('ix_email_link_email_purpose')
    op.drop_table('email_link')
