"""E-invoice requests for paid bills, and the job that issues them.

Only a season settled in full can be invoiced (the invoice covers the heating fee paid, late fees
excluded). A request is idempotent by its key; asking again for a season that already has a live
request returns that request (``duplicate``) instead of a second invoice — changing the title of
an issued invoice needs a red-letter reversal, which is a human's job. A partial unique index
(one live request per bill) settles two requests that race.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import Bill, InvoiceRequest
from tools.billing.schemas import INVOICE_STATUS_ZH, InvoiceCreate, InvoicePublic
from tools.billing.service import load_bills
from tools.clock import Clock, local_date
from tools.company.models import HeatingSeason
from tools.errors import Conflict, NotFound
from tools.outbox import enqueue


async def request_invoice(
    session: AsyncSession,
    *,
    account_id: str,
    request: InvoiceCreate,
    clock: Clock,
    idempotency_key: str | None = None,
) -> InvoicePublic:
    if idempotency_key is not None:
        existing = await _by_key(session, idempotency_key)
        if existing is not None:
            if existing.account_id != account_id:
                raise Conflict("该请求编号已被使用", code="idempotency_key_reused")
            return await _public(session, existing, duplicate=True)
    rows = await load_bills(session, account_id=account_id, season_code=request.season_code)
    if not rows:
        raise NotFound(f"没有找到您 {request.season_code} 采暖季的账单", code="bill_not_found")
    bill, _ = rows[0]
    if bill.status != "paid":
        raise Conflict(
            f"{request.season_code} 采暖季费用尚未缴清，缴清后才能开具电子发票", code="bill_unpaid"
        )
    live = await _live(session, bill.id)
    if live is not None:
        return await _public(session, live, duplicate=True)
    now = clock.now()
    invoice = InvoiceRequest(
        account_id=account_id,
        bill_id=bill.id,
        title=request.title,
        tax_no=request.tax_no,
        email=request.email,
        status="requested",
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(invoice)
    except IntegrityError:
        # A concurrent request won: the same key, or another live request for this bill.
        winner = await _by_key(session, idempotency_key) if idempotency_key else None
        if winner is None:
            winner = await _live(session, bill.id)
        if winner is None or winner.account_id != account_id:
            raise
        return await _public(session, winner, duplicate=True)
    return await _public(session, invoice)


async def issue_pending_invoices(session: AsyncSession, *, clock: Clock, limit: int = 200) -> int:
    """Issue requested invoices (oldest first) and tell each resident; returns how many.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so parallel workers never
    issue one request twice.
    """
    requests = list(
        await session.scalars(
            select(InvoiceRequest)
            .where(InvoiceRequest.status == "requested")
            .order_by(InvoiceRequest.created_at, InvoiceRequest.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    now = clock.now()
    day = local_date(clock)
    for invoice in requests:
        invoice.status = "issued"
        invoice.invoice_no = f"FP{day:%Y%m%d}{invoice.id[:12].upper()}"
        invoice.issued_at = now
        invoice.updated_at = now
        view = await _public(session, invoice)
        where = f"，已发送至 {invoice.email}" if invoice.email else "，可在公众号“我的发票”中查看下载"
        await enqueue(
            session,
            clock=clock,
            kind="notice",
            account_id=invoice.account_id,
            text=(
                f"您申请的 {view.season_code} 采暖季供热费电子发票已开具（发票号 {invoice.invoice_no}，"
                f"抬头 {invoice.title}，金额 {view.amount} 元）{where}。"
            ),
            payload={"invoice_request_id": invoice.id, "invoice_no": invoice.invoice_no},
            dedupe_key=f"invoice_issued:{invoice.id}",
        )
    await session.flush()
    return len(requests)


async def _live(session: AsyncSession, bill_id: str) -> InvoiceRequest | None:
    return await session.scalar(
        select(InvoiceRequest).where(
            InvoiceRequest.bill_id == bill_id, InvoiceRequest.status.in_(("requested", "issued"))
        )
    )


async def _by_key(session: AsyncSession, key: str) -> InvoiceRequest | None:
    return await session.scalar(select(InvoiceRequest).where(InvoiceRequest.idempotency_key == key))


async def _public(
    session: AsyncSession, invoice: InvoiceRequest, *, duplicate: bool = False
) -> InvoicePublic:
    bill, season_code = (
        await session.execute(
            select(Bill, HeatingSeason.code)
            .join(HeatingSeason, Bill.season_id == HeatingSeason.id)
            .where(Bill.id == invoice.bill_id)
        )
    ).one()
    return InvoicePublic(
        invoice_request_id=invoice.id,
        season_code=season_code,
        title=invoice.title,
        tax_no=invoice.tax_no,
        email=invoice.email,
        amount=bill.amount_paid,
        status=invoice.status,
        status_text=INVOICE_STATUS_ZH.get(invoice.status, invoice.status),
        invoice_no=invoice.invoice_no,
        requested_at=invoice.created_at,
        issued_at=invoice.issued_at,
        duplicate=duplicate,
    )
