"""kb curation and mining: unanswered questions, hot topics, proposed FAQ entries

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tools.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kb_hot_topics",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("mined_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("window_start", tools.db.UTCDateTime(), nullable=False),
        sa.Column("window_end", tools.db.UTCDateTime(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("keywords", _json(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("previous_count", sa.Integer(), nullable=False),
        sa.Column("trend", sa.String(length=12), nullable=False),
        sa.Column("examples", _json(), nullable=False),
        sa.Column("question_ids", _json(), nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_hot_topics")),
    )
    with op.batch_alter_table("kb_hot_topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_hot_topics_mined_at"), ["mined_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_hot_topics_run_id"), ["run_id"], unique=False)

    op.create_table(
        "kb_proposals",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("questions", _json(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("asked_count", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("scope_community", sa.String(length=60), nullable=True),
        sa.Column("scope_building", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("source IN ('mining', 'agent_answer')", name=op.f("ck_kb_proposals_source")),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name=op.f("ck_kb_proposals_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_proposals")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_kb_proposals_dedupe_key")),
    )
    with op.batch_alter_table("kb_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_proposals_status"), ["status"], unique=False)

    op.create_table(
        "kb_unanswered_questions",
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("scope_community", sa.String(length=60), nullable=True),
        sa.Column("scope_building", sa.String(length=20), nullable=True),
        sa.Column("asked_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "reason IN ('abstained', 'low_confidence', 'handed_off', 'negative_feedback')",
            name=op.f("ck_kb_unanswered_questions_reason"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_unanswered_questions")),
        sa.UniqueConstraint(
            "message_id", "reason", name=op.f("uq_kb_unanswered_questions_message_id_reason")
        ),
    )
    with op.batch_alter_table("kb_unanswered_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_unanswered_questions_asked_at"), ["asked_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_kb_unanswered_questions_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kb_unanswered_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_unanswered_questions_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_kb_unanswered_questions_asked_at"))
    op.drop_table("kb_unanswered_questions")
    with op.batch_alter_table("kb_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_proposals_status"))
    op.drop_table("kb_proposals")
    with op.batch_alter_table("kb_hot_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_hot_topics_run_id"))
        batch_op.drop_index(batch_op.f("ix_kb_hot_topics_mined_at"))
    op.drop_table("kb_hot_topics")
