"""service requests: 报停 and 恢复供暖 applications

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tools.db

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("status IN ('requested', 'approved')")


def upgrade() -> None:
    op.create_table(
        "service_requests",
        sa.Column("request_no", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("season_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("quoted_amount", tools.db.Money(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("handled_by", sa.String(length=80), nullable=True),
        sa.Column("handled_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('suspend', 'resume')", name=op.f("ck_service_requests_kind")),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'rejected', 'cancelled')",
            name=op.f("ck_service_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_service_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["season_id"], ["heating_seasons.id"], name=op.f("fk_service_requests_season_id_heating_seasons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_service_requests_idempotency_key")),
        sa.UniqueConstraint("request_no", name=op.f("uq_service_requests_request_no")),
    )
    with op.batch_alter_table("service_requests") as batch:
        batch.create_index(batch.f("ix_service_requests_account_id"), ["account_id"])
        batch.create_index(batch.f("ix_service_requests_season_id"), ["season_id"])
        batch.create_index(batch.f("ix_service_requests_status"), ["status"])
        batch.create_index(
            "uq_service_requests_live",
            ["account_id", "season_id", "kind"],
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        )


def downgrade() -> None:
    op.drop_table("service_requests")
