"""Bills, payment orders, payments and invoice requests.

A bill is one account's charge for one season. Late fees depend on the day they are looked at,
so the bill stores what was fixed (base, discount, what was paid) and the service computes
what is due now. ``Payment.transaction_id`` is unique: the database itself refuses a second
credit for one transaction, whatever the application does.

Money on a bill: ``amount_paid`` is principal (the base less any earned discount) and
``late_fee_paid`` is late fees, kept apart because late fees accrue only on unpaid principal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, Fixed, IdMixin, JSONType, Money, TimestampMixin, UTCDateTime
from tools.labels import sql_in

BILL_STATUSES = ("unpaid", "partial", "paid", "waived")
ORDER_STATUSES = ("pending", "paid", "closed", "expired")
# "anomaly": money received for an order that another transaction had already paid; never credited
# to a bill, kept (once, by its unique transaction id) so finance can refund it.
PAYMENT_STATUSES = ("credited", "anomaly")
INVOICE_STATUSES = ("requested", "issued", "rejected")


class Bill(IdMixin, TimestampMixin, Base):
    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("account_id", "season_id"),
        CheckConstraint(f"status IN {sql_in(BILL_STATUSES)}", name="status"),
        CheckConstraint("base_amount >= 0 AND discount_amount >= 0 AND amount_paid >= 0", name="nonneg"),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    season_id: Mapped[str] = mapped_column(ForeignKey("heating_seasons.id"), index=True)
    heated_area: Mapped[Decimal] = mapped_column(Fixed(2))
    unit_price: Mapped[Decimal] = mapped_column(Money())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    base_amount: Mapped[Decimal] = mapped_column(Money())
    discount_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    late_fee_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default="unpaid", index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentOrder(IdMixin, TimestampMixin, Base):
    __tablename__ = "payment_orders"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(ORDER_STATUSES)}", name="status"),
        CheckConstraint("amount > 0", name="positive"),
    )

    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    # {bill_id: amount} as strings, fixed when the order is created.
    allocations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    channel: Mapped[str] = mapped_column(String(16), default="wechat_pay")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)


class Payment(IdMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint(f"status IN {sql_in(PAYMENT_STATUSES)}", name="status"),
    )

    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("payment_orders.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20), default="wechat_pay")
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="credited", server_default="credited")
    # How the money was applied: {bill_id: {"principal", "late_fee", "discount"}} as strings, plus
    # "unallocated" when more arrived than the bills still owed (a refund case for finance).
    applied: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default=text("'{}'"))


_LIVE_INVOICE = text("status IN ('requested', 'issued')")


class InvoiceRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "invoice_requests"
    __table_args__ = (
        CheckConstraint(f"status IN {sql_in(INVOICE_STATUSES)}", name="status"),
        # One live invoice per bill, even when two requests race (a rejected one may be retried).
        Index(
            "uq_invoice_requests_live_bill",
            "bill_id",
            unique=True,
            postgresql_where=_LIVE_INVOICE,
            sqlite_where=_LIVE_INVOICE,
        ),
    )

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    bill_id: Mapped[str] = mapped_column(ForeignKey("bills.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    tax_no: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    invoice_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)


SERVICE_REQUEST_KINDS = ("suspend", "resume")
SERVICE_REQUEST_STATUSES = ("requested", "approved", "rejected", "cancelled")
_LIVE_REQUEST = text("status IN ('requested', 'approved')")


class ServiceRequest(IdMixin, TimestampMixin, Base):
    """A 报停 or 恢复供暖 application for one season, handled by a service hall after it is filed.

    ``quoted_amount`` is the fee the resident was told when applying (报停基础热费, or the 补缴 for a
    mid-season resume), fixed at that moment so the hall and the resident read the same figure.
    """

    __tablename__ = "service_requests"
    __table_args__ = (
        CheckConstraint(f"kind IN {sql_in(SERVICE_REQUEST_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {sql_in(SERVICE_REQUEST_STATUSES)}", name="status"),
        # One live application per account, season and kind, even when two requests race.
        Index(
            "uq_service_requests_live",
            "account_id",
            "season_id",
            "kind",
            unique=True,
            postgresql_where=_LIVE_REQUEST,
            sqlite_where=_LIVE_REQUEST,
        ),
    )

    request_no: Mapped[str] = mapped_column(String(24), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    season_id: Mapped[str] = mapped_column(ForeignKey("heating_seasons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    quoted_amount: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str] = mapped_column(Text, default="")
    handled_by: Mapped[str | None] = mapped_column(String(80))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
