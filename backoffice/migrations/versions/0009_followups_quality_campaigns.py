"""followups quality campaigns: surveys, quality reviews, care campaigns and their recipients

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tools.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "target",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("kind IN ('care', 'notice')", name=op.f("ck_campaigns_kind")),
        sa.CheckConstraint("status IN ('draft', 'sent')", name=op.f("ck_campaigns_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaigns_status"), ["status"], unique=False)

    op.create_table(
        "quality_reviews",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("handler", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("emotion_start", sa.String(length=16), nullable=True),
        sa.Column("emotion_end", sa.String(length=16), nullable=True),
        sa.Column("scored_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("scored_through", tools.db.UTCDateTime(), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_quality_reviews_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_quality_reviews_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_reviews")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_quality_reviews_conversation_id")),
    )
    with op.batch_alter_table("quality_reviews") as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_reviews_flagged"), ["flagged"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_reviews_handler"), ["handler"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_reviews_scored_at"), ["scored_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_reviews_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.String(length=32), nullable=True),
        sa.Column("queued_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_campaign_recipients_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_recipients_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_campaign_recipients_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint(
            "campaign_id", "account_id", name=op.f("uq_campaign_recipients_campaign_id_account_id")
        ),
    )
    with op.batch_alter_table("campaign_recipients") as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_recipients_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_recipients_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "surveys",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("worker_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sent_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("answered_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("answer_message_id", sa.String(length=32), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("hidden_dissatisfaction", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("praised_worker_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'answered', 'expired')", name=op.f("ck_surveys_status")),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 1 AND score <= 5)", name=op.f("ck_surveys_score_range")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_surveys_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["answer_message_id"], ["messages.id"], name=op.f("fk_surveys_answer_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_surveys_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["praised_worker_id"], ["workers.id"], name=op.f("fk_surveys_praised_worker_id_workers")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_surveys_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_surveys_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("ticket_id", "round", name=op.f("uq_surveys_ticket_id_round")),
    )
    with op.batch_alter_table("surveys") as batch_op:
        batch_op.create_index(batch_op.f("ix_surveys_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_answered_at"), ["answered_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_flagged"), ["flagged"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_surveys_worker_id"), ["worker_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_worker_id"))
        batch_op.drop_index(batch_op.f("ix_surveys_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_surveys_status"))
        batch_op.drop_index(batch_op.f("ix_surveys_sent_at"))
        batch_op.drop_index(batch_op.f("ix_surveys_flagged"))
        batch_op.drop_index(batch_op.f("ix_surveys_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_surveys_answered_at"))
        batch_op.drop_index(batch_op.f("ix_surveys_account_id"))

    op.drop_table("surveys")
    with op.batch_alter_table("campaign_recipients") as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_recipients_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_recipients_account_id"))

    op.drop_table("campaign_recipients")
    with op.batch_alter_table("quality_reviews") as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_reviews_staff_id"))
        batch_op.drop_index(batch_op.f("ix_quality_reviews_scored_at"))
        batch_op.drop_index(batch_op.f("ix_quality_reviews_handler"))
        batch_op.drop_index(batch_op.f("ix_quality_reviews_flagged"))

    op.drop_table("quality_reviews")
    with op.batch_alter_table("campaigns") as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_status"))
        batch_op.drop_index(batch_op.f("ix_campaigns_created_at"))

    op.drop_table("campaigns")
