"""WeChat Pay v2 payment notifications: authenticate, validate, credit exactly once.

Checks, in order, each failing with a ``DomainError`` and changing nothing:

    malformed_xml      (InvalidInput)      not a small flat <xml>, DTD/entities, oversized
    bad_signature      (PermissionDenied)  ``sign`` does not match our API key (constant-time)
    merchant_mismatch  (PermissionDenied)  appid / mch_id are not ours
    unknown_order      (NotFound)          out_trade_no is not an order of ours
    amount_mismatch    (InvalidInput)      total_fee (integer fen) differs from the order amount
    stale              (InvalidInput)      time_end older than 24 h, or > 5 min in the future

An authentic notice of a *failed* payment is acknowledged (``ignored``). An authentic success is
credited once, in the caller's transaction:

1. a known ``transaction_id`` is a retry: acknowledged as ``duplicate`` (even when stale);
2. the ``Payment`` row is inserted inside a SAVEPOINT; the unique ``transaction_id`` makes a
   concurrent copy fail there (on PostgreSQL it waits for the winner to commit), and that copy
   becomes a ``duplicate`` too;
3. ``UPDATE payment_orders SET status='paid' WHERE id=:id AND status <> 'paid'``: a rowcount of 0
   means another transaction already paid this order, so this payment is kept as an ``anomaly``
   (audit log, refund) and credits nothing;
4. otherwise the money is applied to the bills (locked), and a ``payment_confirmed`` message is
   enqueued in the outbox with the transaction id as its dedupe key.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from tools.audit import record_audit
from tools.billing.models import Payment, PaymentOrder
from tools.billing.payments import apply_to_bills
from tools.billing.schemas import NotifyResult
from tools.billing.wechat_pay import (
    NOTIFY_MAX_AGE,
    NOTIFY_MAX_SKEW,
    parse_notify_xml,
    parse_time_end,
    to_fen,
    verify_signature,
)
from tools.clock import Clock
from tools.errors import InvalidInput, NotFound, PermissionDenied
from tools.outbox import enqueue
from tools.settings import Settings

_FEN = re.compile(r"^[0-9]{1,12}$")
_ID = re.compile(r"^[0-9A-Za-z_\-|*]{1,64}$")


async def handle_payment_notification(
    session: AsyncSession, *, xml_body: bytes, clock: Clock, settings: Settings
) -> NotifyResult:
    """Process one notification in the caller's transaction; see the module docstring."""
    fields = _authenticated(parse_notify_xml(xml_body), settings)
    transaction_id, order_no = fields.get("transaction_id", ""), fields.get("out_trade_no", "")
    if fields.get("return_code") != "SUCCESS" or fields.get("result_code") != "SUCCESS":
        return NotifyResult("ignored", transaction_id or None, order_no or None)
    if not _ID.match(transaction_id) or not _ID.match(order_no):
        raise InvalidInput("支付通知缺少交易号或订单号", code="malformed_xml")
    order = await session.scalar(select(PaymentOrder).where(PaymentOrder.order_no == order_no))
    if order is None:
        raise NotFound("支付通知对应的订单不存在", code="unknown_order")
    total_fee = fields.get("total_fee", "")
    if not _FEN.match(total_fee) or int(total_fee) != to_fen(order.amount):
        raise InvalidInput("支付通知金额与订单金额不一致", code="amount_mismatch")
    if fields.get("fee_type", "CNY") != "CNY":
        raise InvalidInput("支付通知币种不正确", code="amount_mismatch")
    paid_at = parse_time_end(fields.get("time_end", ""))
    duplicate = NotifyResult("duplicate", transaction_id, order_no, order.account_id, order.amount)
    if await _recorded(session, transaction_id):
        return duplicate  # a retry, even one older than the replay window: acknowledge it
    now = clock.now()
    if paid_at < now - NOTIFY_MAX_AGE or paid_at > now + NOTIFY_MAX_SKEW:
        raise InvalidInput("支付通知已过期或时间异常", code="stale")

    payment = Payment(
        transaction_id=transaction_id,
        order_id=order.id,
        account_id=order.account_id,
        amount=order.amount,  # equal to total_fee, checked above
        method="wechat_pay",
        paid_at=paid_at,
        raw=fields,
        status="credited",
        applied={},
    )
    try:
        async with session.begin_nested():
            session.add(payment)
    except IntegrityError:
        return duplicate  # a concurrent copy of this notification recorded it first
    claimed = await session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == order.id, PaymentOrder.status != "paid")
        .values(status="paid", paid_at=paid_at, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await _keep_as_anomaly(session, payment=payment, order=order, clock=clock)
        return NotifyResult("anomaly", transaction_id, order_no, order.account_id, payment.amount)
    # Mirror the claimed row into the loaded order without another round trip or a dirty flag.
    for key, value in {"status": "paid", "paid_at": paid_at, "updated_at": now}.items():
        set_committed_value(order, key, value)
    await _credit(session, payment=payment, order=order, clock=clock)
    return NotifyResult("credited", transaction_id, order_no, order.account_id, payment.amount)


def _authenticated(fields: dict[str, str], settings: Settings) -> dict[str, str]:
    if not verify_signature(fields, settings.pay_api_key.get_secret_value()):
        raise PermissionDenied("支付通知签名校验失败", code="bad_signature")
    if fields.get("appid") != settings.wechat_app_id or fields.get("mch_id") != settings.pay_mch_id:
        raise PermissionDenied("支付通知的商户信息不匹配", code="merchant_mismatch")
    return fields


async def _keep_as_anomaly(
    session: AsyncSession, *, payment: Payment, order: PaymentOrder, clock: Clock
) -> None:
    payment.status = "anomaly"
    await record_audit(
        session,
        clock=clock,
        actor="wechat_pay",
        action="payment.duplicate_order_payment",
        target_type="payment_order",
        target_id=order.id,
        reason="订单已由另一笔交易支付，本笔款项未入账，需退款",
        details={
            "transaction_id": payment.transaction_id,
            "order_no": order.order_no,
            "amount": str(payment.amount),
        },
    )


async def _credit(session: AsyncSession, *, payment: Payment, order: PaymentOrder, clock: Clock) -> None:
    payment.applied = await apply_to_bills(
        session, order=order, amount=payment.amount, paid_at=payment.paid_at
    )
    await session.flush()
    if "unallocated" in payment.applied:
        await record_audit(
            session,
            clock=clock,
            actor="wechat_pay",
            action="payment.overpaid",
            target_type="payment",
            target_id=payment.id,
            reason="账单已由其他渠道缴清，多出款项需退款",
            details={"transaction_id": payment.transaction_id, "unallocated": payment.applied["unallocated"]},
        )
    seasons = "、".join(
        sorted({part["season_code"] for key, part in payment.applied.items() if key != "unallocated"})
    )
    text = (
        f"您已成功缴纳{seasons}采暖季供热费 {payment.amount} 元（订单号 {order.order_no}），感谢您的支持！"
        if seasons
        else f"已收到您的缴费 {payment.amount} 元（订单号 {order.order_no}），我们会尽快核对处理。"
    )
    await enqueue(
        session,
        clock=clock,
        kind="payment_confirmed",
        account_id=order.account_id,
        text=text,
        payload={
            "order_no": order.order_no,
            "transaction_id": payment.transaction_id,
            "amount": str(payment.amount),
        },
        dedupe_key=f"payment_confirmed:{payment.transaction_id}",
    )


async def _recorded(session: AsyncSession, transaction_id: str) -> bool:
    found = await session.scalar(select(Payment.id).where(Payment.transaction_id == transaction_id))
    return found is not None
