"""crm and conversations: binding attempts log replaces per-identity counters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tools.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "binding_attempts",
        sa.Column("identity_id", sa.String(length=32), nullable=False),
        sa.Column("account_no", sa.String(length=20), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identities.id"],
            name=op.f("fk_binding_attempts_identity_id_channel_identities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_attempts")),
    )
    with op.batch_alter_table("binding_attempts") as batch:
        batch.create_index(batch.f("ix_binding_attempts_account_no"), ["account_no"])
        batch.create_index(batch.f("ix_binding_attempts_at"), ["at"])
        batch.create_index(batch.f("ix_binding_attempts_identity_id"), ["identity_id"])
    with op.batch_alter_table("channel_identities") as batch:
        batch.drop_column("failed_attempts")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch:
        batch.add_column(sa.Column("locked_until", tools.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.drop_table("binding_attempts")
