"""identity links: an account's identity at a single sign-on provider (OpenID Connect), matched
by issuer and subject on every later sign-in

Revision ID: 0006d
Revises: 0005d

A new table; nothing is moved. Going down drops the links: those people sign in with NHSmail
again (linked once more by their verified email) or with their password or an email link.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006d'
down_revision = '0005d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'identity_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_identity_link_user_id_app_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_link')),
        sa.UniqueConstraint('provider', 'issuer', 'subject',
                            name=op.f('uq_identity_link_provider_issuer_subject')),
    )
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_link_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_link_user_id'))
    op.drop_table('identity_link')
