"""Billing views. Amounts are exact ``Decimal`` and serialise as strings ("2327.00") in JSON mode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, field_validator

from tools.billing.wechat_pay import PrepayPayload, render_notify_reply

BILL_STATUS_ZH = {"unpaid": "未缴", "partial": "部分缴纳", "paid": "已缴清", "waived": "已减免"}
ORDER_STATUS_ZH = {"pending": "待支付", "paid": "已支付", "closed": "已关闭", "expired": "已过期"}
INVOICE_STATUS_ZH = {"requested": "开具中", "issued": "已开具", "rejected": "已驳回"}

TAX_NO = re.compile(r"^[0-9A-Z]{15,20}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}$")


class BillLinePublic(BaseModel):
    label: str
    amount: Decimal


class BillPublic(BaseModel):
    """One season's bill on one day: what it costs, what was paid, what is due now and why."""

    bill_id: str
    season_code: str
    status: str
    status_text: str
    heated_area: Decimal
    unit_price: Decimal
    suspended: bool
    full_fee: Decimal
    base: Decimal
    discount: Decimal
    discount_offered: bool
    discount_deadline: date | None
    pay_deadline: date
    paid_principal: Decimal
    paid_late_fee: Decimal
    principal_due: Decimal
    late_days: int
    late_fee: Decimal
    due_now: Decimal
    as_of: date
    lines: list[BillLinePublic]


class AccountStatement(BaseModel):
    account_id: str
    account_no: str
    as_of: date
    bills: list[BillPublic]  # every season, oldest first
    current: BillPublic | None  # the latest season's bill
    arrears: list[BillPublic]  # bills with something due now, oldest season first
    total_due: Decimal


class OrderAllocation(BaseModel):
    bill_id: str
    season_code: str
    amount: Decimal


class PaymentOrderPublic(BaseModel):
    order_no: str
    account_id: str
    amount: Decimal
    status: str
    status_text: str
    created_at: datetime
    expires_at: datetime
    allocations: list[OrderAllocation]
    prepay: PrepayPayload | None  # only while the order can still be paid
    reused: bool = False


class PaymentRecord(BaseModel):
    paid_at: datetime | None
    amount: Decimal
    channel: str
    order_no: str | None
    transaction_id: str | None
    seasons: list[str]


class InvoiceCreate(BaseModel):
    """What a resident asks an e-invoice for; errors carry Chinese messages."""

    season_code: str
    title: str
    tax_no: str | None = None
    email: str | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("发票抬头不能为空")
        if len(value) > 120:
            raise ValueError("发票抬头不能超过 120 个字")
        return value

    @field_validator("tax_no")
    @classmethod
    def _tax_no(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = re.sub(r"\s", "", value).upper()
        if not TAX_NO.match(value):
            raise ValueError("税号应为 15-20 位大写字母或数字（统一社会信用代码为 18 位）")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if len(value) > 120 or not EMAIL.match(value):
            raise ValueError(f"邮箱地址格式不正确：{value[:40]}")
        return value


class InvoicePublic(BaseModel):
    invoice_request_id: str
    season_code: str
    title: str
    tax_no: str | None
    email: str | None
    amount: Decimal
    status: str
    status_text: str
    invoice_no: str | None
    requested_at: datetime
    issued_at: datetime | None
    duplicate: bool = False


NotifyOutcome = Literal["credited", "duplicate", "anomaly", "ignored"]


@dataclass(frozen=True)
class NotifyResult:
    """What a payment notification did. Every outcome here is acknowledged to WeChat (SUCCESS).

    ``credited``: money applied to the bills. ``duplicate``: this transaction was already recorded
    (a retry or a concurrent copy); nothing changed. ``anomaly``: a second transaction for an order
    already paid, recorded for refund and never credited. ``ignored``: an authentic notice of a
    failed payment; nothing to credit.
    """

    outcome: NotifyOutcome
    transaction_id: str | None
    order_no: str | None
    account_id: str | None = None
    amount: Decimal | None = None

    def reply_xml(self) -> bytes:
        return render_notify_reply(ok=True, message="OK")
