"""billing

Payments record how they were applied and whether they were credited or kept as an anomaly
(a second transaction for an already-paid order, to be refunded); a bill has at most one live
(requested or issued) invoice request.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tools.db  # noqa: F401

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="credited", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "applied",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
        batch_op.create_check_constraint(op.f("ck_payments_status"), "status IN ('credited', 'anomaly')")
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.create_index(
            "uq_invoice_requests_live_bill",
            ["bill_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('requested', 'issued')"),
            sqlite_where=sa.text("status IN ('requested', 'issued')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.drop_index("uq_invoice_requests_live_bill")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_status"), type_="check")
        batch_op.drop_column("applied")
        batch_op.drop_column("status")
