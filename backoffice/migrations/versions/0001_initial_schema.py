"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:43:36.660338
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tools.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "communities",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=120), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
        sa.UniqueConstraint("name", name=op.f("uq_communities_name")),
    )
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_communities_district"), ["district"], unique=False)

    op.create_table(
        "companies",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=False),
        sa.Column("city", sa.String(length=40), nullable=False),
        sa.Column("hotline", sa.String(length=40), nullable=False),
        sa.Column(
            "profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("code", name=op.f("uq_companies_code")),
    )
    op.create_table(
        "kb_documents",
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("audience", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "questions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("scope_community", sa.String(length=60), nullable=True),
        sa.Column("scope_building", sa.String(length=20), nullable=True),
        sa.Column("source_path", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("audience IN ('resident', 'staff')", name=op.f("ck_kb_documents_audience")),
        sa.CheckConstraint("kind IN ('doc', 'faq', 'notice')", name=op.f("ck_kb_documents_kind")),
        sa.CheckConstraint(
            "status IN ('draft', 'proposed', 'active', 'retired', 'rejected')",
            name=op.f("ck_kb_documents_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_documents")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_documents_slug")),
    )
    with op.batch_alter_table("kb_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_documents_scope_community"), ["scope_community"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kb_documents_status"), ["status"], unique=False)

    op.create_table(
        "residents",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("id_card_no", sa.String(length=18), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("temperature_pref", sa.Integer(), nullable=True),
        sa.Column(
            "consents",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residents_phone"), ["phone"], unique=False)

    op.create_table(
        "workers",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("shift_start", sa.Time(), nullable=False),
        sa.Column("shift_end", sa.Time(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("praise_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("code", name=op.f("uq_workers_code")),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workers_district"), ["district"], unique=False)

    op.create_table(
        "buildings",
        sa.Column("community_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["communities.id"], name=op.f("fk_buildings_community_id_communities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("community_id", "number", name=op.f("uq_buildings_community_id_number")),
    )
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buildings_community_id"), ["community_id"], unique=False)

    op.create_table(
        "heating_seasons",
        sa.Column("company_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("discount_deadline", sa.Date(), nullable=True),
        sa.Column("discount_rate", tools.db.Fixed(places=6), nullable=False),
        sa.Column("pay_deadline", sa.Date(), nullable=False),
        sa.Column("late_fee_daily_rate", tools.db.Fixed(places=6), nullable=False),
        sa.Column("late_fee_cap_ratio", tools.db.Fixed(places=6), nullable=False),
        sa.Column("suspend_apply_deadline", sa.Date(), nullable=True),
        sa.Column("suspend_fee_ratio", tools.db.Fixed(places=6), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("ends_on > starts_on", name=op.f("ck_heating_seasons_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_heating_seasons_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heating_seasons")),
        sa.UniqueConstraint("company_id", "code", name=op.f("uq_heating_seasons_company_id_code")),
    )
    with op.batch_alter_table("heating_seasons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_heating_seasons_company_id"), ["company_id"], unique=False)

    op.create_table(
        "kb_document_versions",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("changed_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["kb_documents.id"],
            name=op.f("fk_kb_document_versions_document_id_kb_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_document_versions")),
        sa.UniqueConstraint(
            "document_id", "version", name=op.f("uq_kb_document_versions_document_id_version")
        ),
    )
    with op.batch_alter_table("kb_document_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kb_document_versions_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "staff_users",
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=True),
        sa.Column("last_login_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor', 'admin', 'worker')", name=op.f("ck_staff_users_role")
        ),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_staff_users_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
        sa.UniqueConstraint("worker_id", name=op.f("uq_staff_users_worker_id")),
    )
    op.create_table(
        "accounts",
        sa.Column("account_no", sa.String(length=20), nullable=False),
        sa.Column("resident_id", sa.String(length=32), nullable=False),
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("room", sa.String(length=10), nullable=False),
        sa.Column("heated_area", tools.db.Fixed(places=2), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('residential', 'non_residential')", name=op.f("ck_accounts_kind")),
        sa.CheckConstraint("status IN ('active', 'suspended', 'closed')", name=op.f("ck_accounts_status")),
        sa.CheckConstraint("heated_area > 0", name=op.f("ck_accounts_positive_area")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_accounts_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_accounts_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_no", name=op.f("uq_accounts_account_no")),
        sa.UniqueConstraint("building_id", "unit", "room", name=op.f("uq_accounts_building_id_unit_room")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "building_incidents",
        sa.Column("building_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_building_incidents_building_id_buildings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building_incidents")),
    )
    with op.batch_alter_table("building_incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_building_incidents_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_building_incidents_status"), ["status"], unique=False)

    op.create_table(
        "tariffs",
        sa.Column("season_id", sa.String(length=32), nullable=False),
        sa.Column("account_kind", sa.String(length=20), nullable=False),
        sa.Column("unit_price", tools.db.Fixed(places=2), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "account_kind IN ('residential', 'non_residential')", name=op.f("ck_tariffs_kind")
        ),
        sa.CheckConstraint("unit_price > 0", name=op.f("ck_tariffs_positive_price")),
        sa.ForeignKeyConstraint(
            ["season_id"], ["heating_seasons.id"], name=op.f("fk_tariffs_season_id_heating_seasons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
        sa.UniqueConstraint("season_id", "account_kind", name=op.f("uq_tariffs_season_id_account_kind")),
    )
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tariffs_season_id"), ["season_id"], unique=False)

    op.create_table(
        "bills",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("season_id", sa.String(length=32), nullable=False),
        sa.Column("heated_area", tools.db.Fixed(places=2), nullable=False),
        sa.Column("unit_price", tools.db.Fixed(places=2), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("base_amount", tools.db.Fixed(places=2), nullable=False),
        sa.Column("discount_amount", tools.db.Fixed(places=2), nullable=False),
        sa.Column("late_fee_paid", tools.db.Fixed(places=2), nullable=False),
        sa.Column("amount_paid", tools.db.Fixed(places=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('unpaid', 'partial', 'paid', 'waived')", name=op.f("ck_bills_status")),
        sa.CheckConstraint(
            "base_amount >= 0 AND discount_amount >= 0 AND amount_paid >= 0", name=op.f("ck_bills_nonneg")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_bills_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["season_id"], ["heating_seasons.id"], name=op.f("fk_bills_season_id_heating_seasons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint("account_id", "season_id", name=op.f("uq_bills_account_id_season_id")),
    )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bills_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bills_season_id"), ["season_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bills_status"), ["status"], unique=False)

    op.create_table(
        "channel_identities",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("bound_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", tools.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_channel_identities_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_identities")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_channel_identities_channel_external_id")),
    )
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_identities_account_id"), ["account_id"], unique=False)

    op.create_table(
        "payment_orders",
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("amount", tools.db.Fixed(places=2), nullable=False),
        sa.Column(
            "allocations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("expires_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("paid_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'closed', 'expired')", name=op.f("ck_payment_orders_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_orders_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payment_orders_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_orders_idempotency_key")),
        sa.UniqueConstraint("order_no", name=op.f("uq_payment_orders_order_no")),
    )
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_orders_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_orders_status"), ["status"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("identity_id", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_staff_id", sa.String(length=32), nullable=True),
        sa.Column("handoff_requested_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("handoff_summary", sa.Text(), nullable=True),
        sa.Column("last_message_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("last_category", sa.String(length=24), nullable=True),
        sa.Column("last_emotion", sa.String(length=16), nullable=True),
        sa.Column("last_urgency", sa.String(length=12), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("closed_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_conversations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identities.id"],
            name=op.f("fk_conversations_identity_id_channel_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_staff_id"], ["staff_users.id"], name=op.f("fk_conversations_owner_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_channel"), ["channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversations_handoff_requested_at"), ["handoff_requested_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversations_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversations_last_message_at"), ["last_message_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversations_owner_staff_id"), ["owner_staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_status"), ["status"], unique=False)

    op.create_table(
        "invoice_requests",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("bill_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("tax_no", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoice_no", sa.String(length=40), nullable=True),
        sa.Column("issued_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'issued', 'rejected')", name=op.f("ck_invoice_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_invoice_requests_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name=op.f("fk_invoice_requests_bill_id_bills")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_requests")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_invoice_requests_idempotency_key")),
        sa.UniqueConstraint("invoice_no", name=op.f("uq_invoice_requests_invoice_no")),
    )
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_requests_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_requests_bill_id"), ["bill_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("amount", tools.db.Fixed(places=2), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("paid_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["payment_orders.id"], name=op.f("fk_payments_order_id_payment_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_payments_transaction_id")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("sender", sa.String(length=12), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalized_text", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=True),
        sa.Column("emotion", sa.String(length=16), nullable=True),
        sa.Column("urgency", sa.String(length=12), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('no_heat', 'leak', 'valve', 'equipment_noise', 'billing', 'suspend', 'inquiry', 'progress', 'complaint', 'praise_suggestion', 'account', 'other')",
            name=op.f("ck_messages_category"),
        ),
        sa.CheckConstraint(
            "emotion IS NULL OR emotion IN ('satisfied', 'neutral', 'anxious', 'dissatisfied', 'angry')",
            name=op.f("ck_messages_emotion"),
        ),
        sa.CheckConstraint(
            "sender IN ('resident', 'bot', 'agent', 'system')", name=op.f("ck_messages_sender")
        ),
        sa.CheckConstraint(
            "urgency IS NULL OR urgency IN ('emergency', 'high', 'normal', 'low')",
            name=op.f("ck_messages_urgency"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_messages_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_messages_staff_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id", "external_id", name=op.f("uq_messages_conversation_id_external_id")
        ),
        sa.UniqueConstraint("conversation_id", "seq", name=op.f("uq_messages_conversation_id_seq")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_created_at"), ["created_at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_outbox_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_outbox_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("ticket_no", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("urgency", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=160), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=True),
        sa.Column("eta_start", tools.db.UTCDateTime(), nullable=True),
        sa.Column("eta_end", tools.db.UTCDateTime(), nullable=True),
        sa.Column("sla_due_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("arrived_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("closed_at", tools.db.UTCDateTime(), nullable=True),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_reports", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "category IN ('no_heat', 'leak', 'valve', 'equipment_noise', 'billing', 'suspend', 'inquiry', 'progress', 'complaint', 'praise_suggestion', 'account', 'other')",
            name=op.f("ck_tickets_category"),
        ),
        sa.CheckConstraint(
            "status IN ('已受理', '已派工', '师傅已出发', '已到场', '已完成', '已回访', '已关闭', '已取消')",
            name=op.f("ck_tickets_status"),
        ),
        sa.CheckConstraint(
            "urgency IN ('emergency', 'high', 'normal', 'low')", name=op.f("ck_tickets_urgency")
        ),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_tickets_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["building_incidents.id"], name=op.f("fk_tickets_incident_id_building_incidents")
        ),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_tickets_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_tickets_idempotency_key")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_tickets_ticket_no")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_sla_due_at"), ["sla_due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_urgency"), ["urgency"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "assignments",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("worker_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("planned_start", tools.db.UTCDateTime(), nullable=True),
        sa.Column("planned_end", tools.db.UTCDateTime(), nullable=True),
        sa.Column("assigned_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", tools.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_assignments_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["worker_id"], ["workers.id"], name=op.f("fk_assignments_worker_id_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assignments_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "ticket_attachments",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=160), nullable=False),
        sa.Column("uploaded_at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_attachments_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
    )
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_attachments_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_events",
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", tools.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("worker_name", sa.String(length=60), nullable=True),
        sa.Column("eta_start", tools.db.UTCDateTime(), nullable=True),
        sa.Column("eta_end", tools.db.UTCDateTime(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_events_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_events_ticket_id"))

    op.drop_table("ticket_events")
    with op.batch_alter_table("ticket_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_attachments_ticket_id"))

    op.drop_table("ticket_attachments")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_worker_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_status"))

    op.drop_table("assignments")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_worker_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_urgency"))
        batch_op.drop_index(batch_op.f("ix_tickets_status"))
        batch_op.drop_index(batch_op.f("ix_tickets_sla_due_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_incident_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_category"))
        batch_op.drop_index(batch_op.f("ix_tickets_account_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_kind"))
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_account_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_created_at"))
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_messages_category"))

    op.drop_table("messages")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))
        batch_op.drop_index(batch_op.f("ix_payments_account_id"))

    op.drop_table("payments")
    with op.batch_alter_table("invoice_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_requests_bill_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_requests_account_id"))

    op.drop_table("invoice_requests")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_status"))
        batch_op.drop_index(batch_op.f("ix_conversations_owner_staff_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_last_message_at"))
        batch_op.drop_index(batch_op.f("ix_conversations_identity_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_handoff_requested_at"))
        batch_op.drop_index(batch_op.f("ix_conversations_channel"))
        batch_op.drop_index(batch_op.f("ix_conversations_account_id"))

    op.drop_table("conversations")
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_orders_status"))
        batch_op.drop_index(batch_op.f("ix_payment_orders_account_id"))

    op.drop_table("payment_orders")
    with op.batch_alter_table("channel_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_identities_account_id"))

    op.drop_table("channel_identities")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bills_status"))
        batch_op.drop_index(batch_op.f("ix_bills_season_id"))
        batch_op.drop_index(batch_op.f("ix_bills_account_id"))

    op.drop_table("bills")
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tariffs_season_id"))

    op.drop_table("tariffs")
    with op.batch_alter_table("building_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_building_incidents_status"))
        batch_op.drop_index(batch_op.f("ix_building_incidents_building_id"))

    op.drop_table("building_incidents")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_resident_id"))
        batch_op.drop_index(batch_op.f("ix_accounts_building_id"))

    op.drop_table("accounts")
    op.drop_table("staff_users")
    with op.batch_alter_table("kb_document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_document_versions_document_id"))

    op.drop_table("kb_document_versions")
    with op.batch_alter_table("heating_seasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heating_seasons_company_id"))

    op.drop_table("heating_seasons")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buildings_community_id"))

    op.drop_table("buildings")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_district"))

    op.drop_table("workers")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_phone"))

    op.drop_table("residents")
    with op.batch_alter_table("kb_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_documents_status"))
        batch_op.drop_index(batch_op.f("ix_kb_documents_scope_community"))

    op.drop_table("kb_documents")
    op.drop_table("companies")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communities_district"))

    op.drop_table("communities")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
