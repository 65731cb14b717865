"""dispatch and sla

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tools.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ASSIGNMENT_TIMES = ("accepted_at", "departed_at", "arrived_at", "finished_at")


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        for name in _ASSIGNMENT_TIMES:
            batch_op.add_column(sa.Column(name, tools.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("plan_method", sa.String(length=16), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_breach_alerted_at", tools.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sla_risk_alerted_at", tools.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uploaded_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_column("uploaded_by")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("sla_risk_alerted_at")
        batch_op.drop_column("sla_breach_alerted_at")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("plan_method")
        batch_op.drop_column("notes")
        for name in reversed(_ASSIGNMENT_TIMES):
            batch_op.drop_column(name)
