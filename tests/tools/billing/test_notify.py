"""Payment callbacks: credited exactly once, forgeries change nothing, races resolve to one credit.

Each callback runs in its own transaction, as the HTTP endpoint runs it; the ledger is read back
from a fresh session, so a test sees only what was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tools.billing.factories import PREVIOUS, make_account, make_bill
from tests.tools.billing.test_wechat_pay import BILLION_LAUGHS, XXE
from tools.audit import AuditLog
from tools.billing import service
from tools.billing.models import Bill, Payment, PaymentOrder
from tools.billing.notify import handle_payment_notification
from tools.billing.payments import create_payment_order
from tools.billing.schemas import NotifyResult, PaymentOrderPublic
from tools.billing.wechat_pay import build_notify_xml, to_fen
from tools.clock import FixedClock, at_local
from tools.crm.models import Account
from tools.db import transaction
from tools.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from tools.outbox import OutboxMessage
from tools.settings import Settings

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Seeded:
    account_id: str
    order: PaymentOrderPublic


async def _seed(
    sessions: Sessions, clock: FixedClock, settings: Settings, *, two_seasons: bool = True
) -> Seeded:
    async with transaction(sessions) as session:
        account = await make_account(session)
        await make_bill(session, account=account)
        if two_seasons:
            await make_bill(session, account=account, season_code=PREVIOUS)
        order = await create_payment_order(session, account_id=account.id, clock=clock, settings=settings)
    return Seeded(account.id, order)


def _body(settings: Settings, clock: FixedClock, order: PaymentOrderPublic, **overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "settings": settings,
        "out_trade_no": order.order_no,
        "total_fee": to_fen(order.amount),
        "transaction_id": "4200002026112212345678",
        "time_end": clock.now(),
    }
    fields.update(overrides)
    return build_notify_xml(**fields)


async def _deliver(sessions: Sessions, body: bytes, clock: FixedClock, settings: Settings) -> NotifyResult:
    async with transaction(sessions) as session:
        return await handle_payment_notification(session, xml_body=body, clock=clock, settings=settings)


async def _ledger(sessions: Sessions) -> dict[str, Any]:
    async with sessions() as session:

        async def count(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        bills = await session.scalars(select(Bill).order_by(Bill.id))
        orders = await session.scalars(select(PaymentOrder).order_by(PaymentOrder.id))
        return {
            "payments": await count(Payment),
            "credited": await session.scalar(
                select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.status == "credited")
            ),
            "outbox": await count(OutboxMessage),
            "audit": await count(AuditLog),
            "bills": [
                (b.status, b.amount_paid, b.late_fee_paid, b.discount_amount, b.paid_at) for b in bills
            ],
            "orders": [(o.status, o.paid_at) for o in orders],
        }


async def test_valid_callback_credits_the_bills_once_and_enqueues_a_confirmation(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    result = await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    assert (result.outcome, result.amount, result.account_id) == ("credited", D("5033.30"), seeded.account_id)
    assert result.reply_xml().startswith(b"<xml><return_code><![CDATA[SUCCESS]]></return_code>")
    async with sessions() as session:
        statement = await service.get_statement(session, account_id=seeded.account_id, clock=clock)
        assert statement.total_due == 0
        old, current = statement.bills
        assert (old.status, old.paid_principal, old.paid_late_fee) == ("paid", D("2327.00"), D("379.30"))
        assert (current.status, current.paid_principal, current.paid_late_fee) == (
            "paid",
            D("2327.00"),
            D("0"),
        )
        order = await session.scalar(select(PaymentOrder))
        assert order is not None and (order.status, order.paid_at) == ("paid", clock.now())
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.status == "credited" and payment.amount == D("5033.30")
        assert payment.raw["transaction_id"] == "4200002026112212345678"
        [message] = await session.scalars(select(OutboxMessage))
        assert message.kind == "payment_confirmed" and message.account_id == seeded.account_id
        assert "5033.30" in message.text and message.dedupe_key == "payment_confirmed:4200002026112212345678"
        [record] = await service.get_payment_history(session, account_id=seeded.account_id)
        assert (record.amount, record.seasons, record.channel) == (
            D("5033.30"),
            ["2025-2026", "2026-2027"],
            "微信支付",
        )


async def test_same_callback_ten_times_in_a_row_credits_once(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    body = _body(settings, clock, seeded.order)
    outcomes = []
    for _ in range(10):
        outcomes.append((await _deliver(sessions, body, clock, settings)).outcome)
        clock.advance(timedelta(seconds=15))  # WeChat's retry rhythm
    assert Counter(outcomes) == {"credited": 1, "duplicate": 9}
    ledger = await _ledger(sessions)
    assert (ledger["payments"], ledger["credited"], ledger["outbox"]) == (1, D("5033.30"), 1)


@pytest.mark.postgres
async def test_ten_concurrent_copies_of_one_callback_credit_once(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    body = _body(settings, clock, seeded.order)
    results = await asyncio.gather(*(_deliver(sessions, body, clock, settings) for _ in range(10)))
    assert Counter(r.outcome for r in results) == {"credited": 1, "duplicate": 9}
    ledger = await _ledger(sessions)
    assert (ledger["payments"], ledger["credited"], ledger["outbox"]) == (1, D("5033.30"), 1)
    assert [status for status, *_ in ledger["bills"]] == ["paid", "paid"]


@pytest.mark.postgres
async def test_a_copy_racing_an_uncommitted_credit_waits_and_becomes_a_duplicate(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    """The unique transaction id inside a SAVEPOINT decides the race, not the fast-path lookup."""
    seeded = await _seed(sessions, clock, settings)
    body = _body(settings, clock, seeded.order)
    async with sessions() as first, sessions() as second:
        async with first.begin():
            assert (
                await handle_payment_notification(first, xml_body=body, clock=clock, settings=settings)
            ).outcome == ("credited")

            async def racing() -> NotifyResult:
                async with second.begin():
                    return await handle_payment_notification(
                        second, xml_body=body, clock=clock, settings=settings
                    )

            task = asyncio.create_task(racing())
            await asyncio.sleep(0.5)
            assert not task.done()  # blocked on the unique index until the first one commits
        assert (await task).outcome == "duplicate"
    ledger = await _ledger(sessions)
    assert (ledger["payments"], ledger["credited"], ledger["outbox"]) == (1, D("5033.30"), 1)


@pytest.mark.postgres
async def test_two_transactions_racing_for_one_order_credit_once_and_keep_the_other_as_anomaly(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    bodies = [
        _body(settings, clock, seeded.order, transaction_id=f"42000020261122000000{i:02d}") for i in range(6)
    ]
    results = await asyncio.gather(*(_deliver(sessions, body, clock, settings) for body in bodies))
    assert Counter(r.outcome for r in results) == {"credited": 1, "anomaly": 5}
    ledger = await _ledger(sessions)
    assert (ledger["payments"], ledger["credited"], ledger["outbox"]) == (6, D("5033.30"), 1)


async def test_second_transaction_for_a_paid_order_is_an_anomaly_and_not_credited(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    before = await _ledger(sessions)
    other = _body(settings, clock, seeded.order, transaction_id="4200002026112299999999")
    assert (await _deliver(sessions, other, clock, settings)).outcome == "anomaly"
    assert (await _deliver(sessions, other, clock, settings)).outcome == "duplicate"
    after = await _ledger(sessions)
    assert after["bills"] == before["bills"] and after["credited"] == before["credited"]
    assert (after["payments"], after["outbox"], after["audit"]) == (2, 1, before["audit"] + 1)
    async with sessions() as session:
        anomaly = await session.scalar(select(Payment).where(Payment.status == "anomaly"))
        assert anomaly is not None and anomaly.transaction_id == "4200002026112299999999"
        entry = await session.scalar(
            select(AuditLog).where(AuditLog.action == "payment.duplicate_order_payment")
        )
        assert entry is not None and entry.details["transaction_id"] == "4200002026112299999999"


def _forgeries(
    settings: Settings, clock: FixedClock, order: PaymentOrderPublic
) -> dict[str, tuple[bytes, str]]:
    good = _body(settings, clock, order)
    return {
        "forged signature": (_body(settings, clock, order, api_key="x" * 32), "bad_signature"),
        "tampered amount under a valid signature": (
            good.replace(b"<total_fee>503330", b"<total_fee>1"),
            "bad_signature",
        ),
        "signature stripped": (good.split(b"<sign>")[0] + b"</xml>", "bad_signature"),
        "wrong amount, validly signed": (_body(settings, clock, order, total_fee=503329), "amount_mismatch"),
        "amount in yuan": (_body(settings, clock, order, extra={"total_fee": "5033.30"}), "amount_mismatch"),
        "negative amount": (_body(settings, clock, order, extra={"total_fee": "-503330"}), "amount_mismatch"),
        "foreign currency": (_body(settings, clock, order, extra={"fee_type": "USD"}), "amount_mismatch"),
        "stale time_end": (
            _body(settings, clock, order, time_end=clock.now() - timedelta(hours=24, seconds=1)),
            "stale",
        ),
        "future time_end": (
            _body(settings, clock, order, time_end=clock.now() + timedelta(minutes=6)),
            "stale",
        ),
        "unknown order": (
            _body(settings, clock, order, out_trade_no="WL202611221000009999999999"),
            "unknown_order",
        ),
        "other merchant": (
            _body(settings, clock, order, extra={"mch_id": "1900009999"}),
            "merchant_mismatch",
        ),
        "other app": (
            _body(settings, clock, order, extra={"appid": "wx9999999999999999"}),
            "merchant_mismatch",
        ),
        "malformed xml": (b"<xml><return_code>SUCCESS</return_code>", "malformed_xml"),
        "billion laughs": (BILLION_LAUGHS, "malformed_xml"),
        "external entity": (XXE, "malformed_xml"),
        "bad time_end": (_body(settings, clock, order, extra={"time_end": "yesterday"}), "malformed_xml"),
        "no transaction id": (_body(settings, clock, order, transaction_id=""), "malformed_xml"),
    }


async def test_forged_stale_mismatched_and_malformed_callbacks_are_rejected_and_change_nothing(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    before = await _ledger(sessions)
    for name, (body, code) in _forgeries(settings, clock, seeded.order).items():
        with pytest.raises(DomainError) as caught:
            await _deliver(sessions, body, clock, settings)
        assert caught.value.code == code, name
        assert await _ledger(sessions) == before, name
    assert before["payments"] == 0 and before["orders"][0][0] == "pending"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("bad_signature", PermissionDenied),
        ("merchant_mismatch", PermissionDenied),
        ("unknown_order", NotFound),
        ("amount_mismatch", InvalidInput),
        ("stale", InvalidInput),
        ("malformed_xml", InvalidInput),
    ],
)
async def test_each_rejection_is_a_domain_error_of_the_right_kind(
    sessions: Sessions, clock: FixedClock, settings: Settings, code: str, kind: type
) -> None:
    seeded = await _seed(sessions, clock, settings, two_seasons=False)
    body = next(body for body, c in _forgeries(settings, clock, seeded.order).values() if c == code)
    with pytest.raises(kind):
        await _deliver(sessions, body, clock, settings)


async def test_callback_just_inside_the_24_hour_window_is_credited(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    body = _body(settings, clock, seeded.order, time_end=clock.now())
    clock.advance(timedelta(hours=24))
    assert (await _deliver(sessions, body, clock, settings)).outcome == "credited"


async def test_retry_of_a_credited_transaction_after_24_hours_is_still_acknowledged(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    body = _body(settings, clock, seeded.order)
    await _deliver(sessions, body, clock, settings)
    clock.advance(timedelta(hours=24, minutes=3))  # WeChat retries for up to 24h4m
    assert (await _deliver(sessions, body, clock, settings)).outcome == "duplicate"
    assert (await _ledger(sessions))["payments"] == 1


async def test_notice_of_a_failed_payment_is_acknowledged_without_credit(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    before = await _ledger(sessions)
    body = _body(settings, clock, seeded.order, result_code="FAIL", extra={"err_code": "NOTENOUGH"})
    assert (await _deliver(sessions, body, clock, settings)).outcome == "ignored"
    assert await _ledger(sessions) == before


async def test_payment_quoted_before_the_deadline_midnight_keeps_its_price_after_it(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    clock.set(at_local(date(2026, 12, 31), 23, 30))
    seeded = await _seed(sessions, clock, settings, two_seasons=False)
    assert seeded.order.amount == D("2327.00")
    clock.advance(timedelta(hours=1))  # paid at 00:30 on January 1st, within the order's life
    assert (
        await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    ).outcome == "credited"
    async with sessions() as session:
        [bill] = await service.get_bills(session, account_id=seeded.account_id, clock=clock)
        assert (bill.status, bill.paid_late_fee, bill.due_now) == ("paid", D("0"), D("0"))


async def test_payment_quoted_on_the_discount_deadline_earns_the_discount(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    clock.set(at_local(date(2026, 10, 31), 22, 0))
    seeded = await _seed(sessions, clock, settings, two_seasons=False)
    assert seeded.order.amount == D("2257.19")
    await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    async with sessions() as session:
        bill = await session.scalar(select(Bill))
        assert bill is not None
        assert (bill.status, bill.amount_paid, bill.discount_amount) == ("paid", D("2257.19"), D("69.81"))


async def test_payment_for_a_superseded_order_is_still_credited(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    """Money WeChat took is real: a closed order paid anyway still settles what it quoted."""
    seeded = await _seed(sessions, clock, settings, two_seasons=False)
    async with transaction(sessions) as session:
        await make_bill(
            session, account=await session.get_one(Account, seeded.account_id), season_code=PREVIOUS
        )
        await create_payment_order(session, account_id=seeded.account_id, clock=clock, settings=settings)
    assert (
        await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    ).outcome == "credited"
    async with sessions() as session:
        statement = await service.get_statement(session, account_id=seeded.account_id, clock=clock)
        assert [(b.season_code, b.status) for b in statement.bills] == [
            ("2025-2026", "unpaid"),
            ("2026-2027", "paid"),
        ]


async def test_money_for_bills_already_paid_elsewhere_is_kept_unallocated_for_refund(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings, two_seasons=False)
    async with transaction(sessions) as session:
        bill = await session.scalar(select(Bill))
        assert bill is not None
        bill.amount_paid, bill.status = D("2000.00"), "partial"  # paid 2000 at the service hall meanwhile
    assert (
        await _deliver(sessions, _body(settings, clock, seeded.order), clock, settings)
    ).outcome == "credited"
    async with sessions() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.applied["unallocated"] == "2000.00"
        bill = await session.scalar(select(Bill))
        assert bill is not None and (bill.status, bill.amount_paid) == ("paid", D("2327.00"))
        assert await session.scalar(select(AuditLog).where(AuditLog.action == "payment.overpaid")) is not None


async def test_randomly_corrupted_callbacks_never_escape_as_anything_but_domain_errors(
    sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    seeded = await _seed(sessions, clock, settings)
    good = bytearray(_body(settings, clock, seeded.order))
    before = await _ledger(sessions)
    rng = random.Random(20261122)
    for _ in range(150):
        body = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        with contextlib.suppress(DomainError):  # anything else (a crash, a ValueError) fails the test
            await _deliver(sessions, bytes(body), clock, settings)
    ledger = await _ledger(sessions)
    assert ledger["credited"] in (before["credited"], D("5033.30"))
    assert ledger["payments"] <= 1
