"""Binding a chat identity (WeChat openid, web/app visitor) to an account: 户号 + phone last four.

The outcome is returned, not raised, because a failed attempt must be *committed* (it counts
toward the limit) while the caller still answers with an error. The message never says whether
the account number exists, so the endpoint cannot be used to enumerate accounts.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock, at_local, local_date
from tools.crm.models import Account, BindingAttempt, ChannelIdentity

MAX_FAILURES_PER_IDENTITY = 5  # per local day, as the company's binding guide promises residents
MAX_FAILURES_PER_ACCOUNT = 10  # per local day, across all identities
_ACCOUNT_NO = re.compile(r"^\d{10}$")
_LAST4 = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class BindingOutcome:
    ok: bool
    account: Account | None = None
    message: str = ""
    remaining: int = 0
    locked_until: datetime | None = None


async def get_or_create_identity(session: AsyncSession, *, channel: str, external_id: str) -> ChannelIdentity:
    identity = await session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    )
    if identity is None:
        # Two first messages of a new visitor can race here (WeChat pushes and retries at once).
        identity = ChannelIdentity(channel=channel, external_id=external_id)
        try:
            async with session.begin_nested():
                session.add(identity)
        except IntegrityError:
            return await session.scalar(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
                )
            )
    return identity


async def _failures_today(session: AsyncSession, *, since: datetime, **where: str) -> int:
    stmt = (
        select(func.count())
        .select_from(BindingAttempt)
        .where(BindingAttempt.success.is_(False), BindingAttempt.at >= since)
    )
    for column, value in where.items():
        stmt = stmt.where(getattr(BindingAttempt, column) == value)
    return int(await session.scalar(stmt) or 0)


async def attempt_binding(
    session: AsyncSession,
    *,
    identity: ChannelIdentity,
    account_no: str,
    phone_last4: str,
    clock: Clock,
) -> BindingOutcome:
    account_no = account_no.strip()
    phone_last4 = phone_last4.strip()
    today = local_date(clock)
    day_start = at_local(today)
    tomorrow = at_local(today + timedelta(days=1))
    identity_failures = await _failures_today(session, since=day_start, identity_id=identity.id)
    account_failures = await _failures_today(session, since=day_start, account_no=account_no)
    if identity_failures >= MAX_FAILURES_PER_IDENTITY or account_failures >= MAX_FAILURES_PER_ACCOUNT:
        return BindingOutcome(
            ok=False,
            message="今日验证失败次数过多，请明天再试，或携带身份证到营业厅办理、致电客服热线。",
            locked_until=tomorrow,
        )

    account = None
    if _ACCOUNT_NO.match(account_no) and _LAST4.match(phone_last4):
        account = await session.scalar(select(Account).where(Account.account_no == account_no))
    matches = account is not None and hmac.compare_digest(account.resident.phone[-4:], phone_last4)
    session.add(
        BindingAttempt(identity_id=identity.id, account_no=account_no[:20], success=matches, at=clock.now())
    )
    if not matches or account is None:
        await session.flush()
        remaining = MAX_FAILURES_PER_IDENTITY - identity_failures - 1
        if remaining <= 0:
            return BindingOutcome(
                ok=False,
                message="户号或手机号后四位不正确，今日验证次数已用完，请明天再试。",
                locked_until=tomorrow,
            )
        return BindingOutcome(
            ok=False, message=f"户号或手机号后四位不正确，今天还可尝试 {remaining} 次。", remaining=remaining
        )

    identity.account_id = account.id
    identity.bound_at = clock.now()
    await record_audit(
        session,
        clock=clock,
        actor=f"{identity.channel}:{identity.id}",
        action="bind_account",
        target_type="account",
        target_id=account.id,
    )
    await session.flush()
    return BindingOutcome(ok=True, account=account, message="绑定成功")


async def unbind(session: AsyncSession, *, identity: ChannelIdentity, clock: Clock) -> None:
    if identity.account_id is None:
        return
    await record_audit(
        session,
        clock=clock,
        actor=f"{identity.channel}:{identity.id}",
        action="unbind_account",
        target_type="account",
        target_id=identity.account_id,
    )
    identity.account_id = None
    identity.bound_at = None
    await session.flush()
