"""E-invoice requests: only for paid seasons, validated, idempotent, issued once by the job."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tools.billing.invoices import issue_pending_invoices, request_invoice
from tools.billing.models import InvoiceRequest
from tools.billing.schemas import InvoiceCreate
from tools.clock import FixedClock
from tools.errors import Conflict, NotFound
from tools.outbox import OutboxMessage


async def _paid_account(session: AsyncSession) -> str:
    account = await make_account(session)
    await make_bill(session, account=account, season_code=PREVIOUS, amount_paid=D("2327.00"))
    await make_bill(session, account=account)
    return account.id


async def test_paid_season_gets_an_invoice_request(session: AsyncSession, clock: FixedClock) -> None:
    account_id = await _paid_account(session)
    invoice = await request_invoice(
        session,
        account_id=account_id,
        request=InvoiceCreate(season_code=PREVIOUS, title="李建国", email="li@example.com"),
        clock=clock,
    )
    assert (invoice.season_code, invoice.amount, invoice.status, invoice.duplicate) == (
        PREVIOUS,
        D("2327.00"),
        "requested",
        False,
    )
    assert invoice.requested_at == clock.now()


@pytest.mark.parametrize("paid", [D("0.00"), D("1000.00")], ids=["unpaid", "partial"])
async def test_unpaid_or_partly_paid_season_cannot_be_invoiced(
    session: AsyncSession, clock: FixedClock, paid: D
) -> None:
    account = await make_account(session)
    await make_bill(session, account=account, amount_paid=paid)
    with pytest.raises(Conflict) as caught:
        await request_invoice(
            session,
            account_id=account.id,
            request=InvoiceCreate(season_code="2026-2027", title="李建国"),
            clock=clock,
        )
    assert caught.value.code == "bill_unpaid" and "缴清" in caught.value.message
    assert await session.scalar(select(func.count()).select_from(InvoiceRequest)) == 0


async def test_season_without_a_bill_is_not_found(session: AsyncSession, clock: FixedClock) -> None:
    account_id = await _paid_account(session)
    with pytest.raises(NotFound):
        await request_invoice(
            session,
            account_id=account_id,
            request=InvoiceCreate(season_code="2019-2020", title="李建国"),
            clock=clock,
        )


async def test_same_key_returns_the_same_request(session: AsyncSession, clock: FixedClock) -> None:
    account_id = await _paid_account(session)
    ask = InvoiceCreate(season_code=PREVIOUS, title="李建国")
    first = await request_invoice(
        session, account_id=account_id, request=ask, clock=clock, idempotency_key="tool:7"
    )
    again = await request_invoice(
        session, account_id=account_id, request=ask, clock=clock, idempotency_key="tool:7"
    )
    assert again.invoice_request_id == first.invoice_request_id and again.duplicate
    assert await session.scalar(select(func.count()).select_from(InvoiceRequest)) == 1


async def test_second_request_for_an_invoiced_season_returns_the_existing_one(
    session: AsyncSession, clock: FixedClock
) -> None:
    account_id = await _paid_account(session)
    first = await request_invoice(
        session,
        account_id=account_id,
        request=InvoiceCreate(season_code=PREVIOUS, title="李建国"),
        clock=clock,
    )
    other = await request_invoice(
        session,
        account_id=account_id,
        request=InvoiceCreate(
            season_code=PREVIOUS, title="滨河市某某科技有限公司", tax_no="91110108MA01ABCD2X"
        ),
        clock=clock,
    )
    assert (
        other.invoice_request_id == first.invoice_request_id and other.duplicate and other.title == "李建国"
    )


async def test_key_of_another_account_is_refused(session: AsyncSession, clock: FixedClock) -> None:
    mine, theirs = await _paid_account(session), await _paid_account(session)
    ask = InvoiceCreate(season_code=PREVIOUS, title="某人")
    await request_invoice(session, account_id=theirs, request=ask, clock=clock, idempotency_key="k")
    with pytest.raises(Conflict):
        await request_invoice(session, account_id=mine, request=ask, clock=clock, idempotency_key="k")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("91110108MA01ABCD2X", "91110108MA01ABCD2X"),  # 18-character unified social credit code
        ("110108123456789", "110108123456789"),  # 15 digits (old tax registration number)
        ("91110108ma01abcd2x", "91110108MA01ABCD2X"),  # typed in lower case
        (" 9111 0108 MA01 ABCD 2X ", "91110108MA01ABCD2X"),
        ("12345678901234567890", "12345678901234567890"),  # 20
        ("", None),
    ],
)
def test_tax_number_is_normalised(given: str, stored: str | None) -> None:
    assert InvoiceCreate(season_code=PREVIOUS, title="单位", tax_no=given).tax_no == stored


@pytest.mark.parametrize(
    "bad",
    [
        "11010812345678",
        "123456789012345678901",
        "91110108MA01-BCD2X",
        "９１１１０１０８ＭＡ０１ＡＢＣＤ２Ｘ",
        "税号91110108MA01",
    ],
)
def test_bad_tax_number_is_refused_with_a_chinese_reason(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        InvoiceCreate(season_code=PREVIOUS, title="单位", tax_no=bad)
    assert "税号" in str(caught.value)


@pytest.mark.parametrize("bad", ["li@", "@example.com", "li example.com", "li@example", "a" * 120 + "@x.com"])
def test_bad_email_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        InvoiceCreate(season_code=PREVIOUS, title="李建国", email=bad)
    assert "邮箱" in str(caught.value)


def test_blank_title_is_refused() -> None:
    with pytest.raises(ValidationError):
        InvoiceCreate(season_code=PREVIOUS, title="   ")


async def test_issuing_assigns_numbers_and_notifies_once(session: AsyncSession, clock: FixedClock) -> None:
    account_id = await _paid_account(session)
    invoice = await request_invoice(
        session,
        account_id=account_id,
        request=InvoiceCreate(season_code=PREVIOUS, title="李建国", email="li@example.com"),
        clock=clock,
    )
    assert await issue_pending_invoices(session, clock=clock) == 1
    assert await issue_pending_invoices(session, clock=clock) == 0
    stored = await session.get_one(InvoiceRequest, invoice.invoice_request_id)
    assert stored.status == "issued" and stored.issued_at == clock.now()
    assert stored.invoice_no is not None and stored.invoice_no.startswith("FP20261122")
    [notice] = await session.scalars(select(OutboxMessage))
    assert notice.kind == "notice" and notice.account_id == account_id
    assert stored.invoice_no in notice.text and "li@example.com" in notice.text and "2327.00" in notice.text
