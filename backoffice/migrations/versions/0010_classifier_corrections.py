"""classifier corrections

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tools.db
from tools.labels import CATEGORIES, EMOTIONS, URGENCIES, sql_in

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "label_corrections",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("emotion", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(f"category IN {sql_in(CATEGORIES)}", name=op.f("ck_label_corrections_category")),
        sa.CheckConstraint(f"emotion IN {sql_in(EMOTIONS)}", name=op.f("ck_label_corrections_emotion")),
        sa.CheckConstraint(f"urgency IN {sql_in(URGENCIES)}", name=op.f("ck_label_corrections_urgency")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_label_corrections_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_label_corrections_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_corrections")),
    )
    with op.batch_alter_table("label_corrections") as batch:
        batch.create_index(batch.f("ix_label_corrections_at"), ["at"])
        batch.create_index(batch.f("ix_label_corrections_message_id"), ["message_id"])
        batch.create_index(batch.f("ix_label_corrections_staff_id"), ["staff_id"])


def downgrade() -> None:
    with op.batch_alter_table("label_corrections") as batch:
        batch.drop_index(batch.f("ix_label_corrections_staff_id"))
        batch.drop_index(batch.f("ix_label_corrections_message_id"))
        batch.drop_index(batch.f("ix_label_corrections_at"))
    op.drop_table("label_corrections")
