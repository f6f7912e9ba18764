"""profile drafts: the profile's unsaved answers kept on the server, not in the session cookie

Revision ID: 0003
Revises: 0002

Nothing is moved: drafts that were in session cookies cannot be read here. A leader part-way
through their profile when this is deployed starts again from their saved profile, if any.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'profile_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                                name=op.f('fk_profile_draft_user_id_app_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_draft')),
        sa.UniqueConstraint('user_id', name=op.f('uq_profile_draft_user_id')),
    )


def downgrade() -> None:
    op.drop_table('profile_draft')
