from datetime import timedelta

from sqlalchemy import select

from tests.tools.crm.factories import make_account
from tools.audit import AuditLog
from tools.crm.binding import (
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_IDENTITY,
    attempt_binding,
    get_or_create_identity,
    unbind,
)


async def test_correct_account_and_last_four_bind_the_identity(session, clock) -> None:
    account = await make_account(session, account_no="2026010001", phone="13912340001")
    identity = await get_or_create_identity(session, channel="wechat", external_id="openid-1")
    outcome = await attempt_binding(
        session, identity=identity, account_no="2026010001", phone_last4="0001", clock=clock
    )
    assert outcome.ok and outcome.account.id == account.id
    assert identity.account_id == account.id
    assert await session.scalar(select(AuditLog).where(AuditLog.action == "bind_account"))


async def test_wrong_digits_and_unknown_account_read_the_same(session, clock) -> None:
    await make_account(session, account_no="2026010001", phone="13912340001")
    identity = await get_or_create_identity(session, channel="web", external_id="v1")
    wrong = await attempt_binding(
        session, identity=identity, account_no="2026010001", phone_last4="9999", clock=clock
    )
    missing = await attempt_binding(
        session, identity=identity, account_no="2026019999", phone_last4="0001", clock=clock
    )
    assert not wrong.ok and not missing.ok
    assert wrong.message.split("，今天")[0] == missing.message.split("，今天")[0]
    assert identity.account_id is None


async def test_identity_is_locked_for_the_day_after_five_failures(session, clock) -> None:
    await make_account(session, account_no="2026010001", phone="13912340001")
    identity = await get_or_create_identity(session, channel="wechat", external_id="openid-2")
    for attempt in range(MAX_FAILURES_PER_IDENTITY):
        outcome = await attempt_binding(
            session,
            identity=identity,
            account_no="2026010001",
            phone_last4=f"99{attempt:02d}",
            clock=clock,
        )
        assert not outcome.ok
    assert outcome.locked_until is not None
    # Even the right answer is refused until tomorrow ...
    locked = await attempt_binding(
        session, identity=identity, account_no="2026010001", phone_last4="0001", clock=clock
    )
    assert not locked.ok and locked.locked_until is not None
    # ... and accepted the next local day.
    clock.advance(timedelta(days=1))
    assert (
        await attempt_binding(
            session, identity=identity, account_no="2026010001", phone_last4="0001", clock=clock
        )
    ).ok


async def test_one_account_cannot_be_walked_from_many_identities(session, clock) -> None:
    await make_account(session, account_no="2026010001", phone="13912340001")
    for visitor in range(MAX_FAILURES_PER_ACCOUNT):
        identity = await get_or_create_identity(session, channel="web", external_id=f"visitor-{visitor}")
        await attempt_binding(
            session, identity=identity, account_no="2026010001", phone_last4="1111", clock=clock
        )
    fresh = await get_or_create_identity(session, channel="web", external_id="visitor-new")
    outcome = await attempt_binding(
        session, identity=fresh, account_no="2026010001", phone_last4="0001", clock=clock
    )
    assert not outcome.ok and outcome.locked_until is not None


async def test_malformed_input_counts_as_a_failure_not_an_error(session, clock) -> None:
    identity = await get_or_create_identity(session, channel="web", external_id="v9")
    outcome = await attempt_binding(
        session, identity=identity, account_no="'; DROP TABLE accounts;--", phone_last4="abcd", clock=clock
    )
    assert not outcome.ok and outcome.remaining == MAX_FAILURES_PER_IDENTITY - 1


async def test_unbind_clears_the_identity(session, clock) -> None:
    await make_account(session, account_no="2026010001", phone="13912340001")
    identity = await get_or_create_identity(session, channel="wechat", external_id="openid-3")
    await attempt_binding(
        session, identity=identity, account_no="2026010001", phone_last4="0001", clock=clock
    )
    await unbind(session, identity=identity, clock=clock)
    assert identity.account_id is None and identity.bound_at is None
