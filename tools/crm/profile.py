"""Resident profiles for agents: who this is, how to treat them, and how they reached us before.

Views are masked by default. ``reveal_contact`` is the one way to see a full phone number and
address: supervisors only, with a reason, written to the audit log.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.crm.models import RESIDENT_TAGS, Account
from tools.crm.schemas import AccountMasked
from tools.errors import InvalidInput, NotFound, PermissionDenied


class ChannelContact(BaseModel):
    channel: str
    conversations: int
    last_contact_at: datetime | None


class ResidentProfile(BaseModel):
    account: AccountMasked
    vulnerable: bool
    temperature_pref: int | None
    consents: dict[str, bool]
    contacts: list[ChannelContact]


class RevealedContact(BaseModel):
    name: str
    phone: str
    address: str


async def _account(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("账户不存在")
    return account


async def get_profile(session: AsyncSession, *, account_id: str) -> ResidentProfile:
    account = await _account(session, account_id)
    rows = await session.execute(
        select(Conversation.channel, func.count(), func.max(Conversation.last_message_at))
        .where(Conversation.account_id == account_id)
        .group_by(Conversation.channel)
    )
    contacts = [ChannelContact(channel=c, conversations=n, last_contact_at=last) for c, n, last in rows]
    resident = account.resident
    return ResidentProfile(
        account=AccountMasked.of(account),
        vulnerable=resident.is_vulnerable,
        temperature_pref=resident.temperature_pref,
        consents={key: bool(value) for key, value in (resident.consents or {}).items()},
        contacts=contacts,
    )


async def set_tags(
    session: AsyncSession, *, account_id: str, add: list[str], remove: list[str], actor: str, clock: Clock
) -> list[str]:
    unknown = set(add) - set(RESIDENT_TAGS)
    if unknown:
        raise InvalidInput(f"未知标签：{'、'.join(sorted(unknown))}")
    resident = (await _account(session, account_id)).resident
    tags = [tag for tag in resident.tags or [] if tag not in remove]
    tags += [tag for tag in add if tag not in tags]
    resident.tags = tags
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action="set_tags",
        target_type="resident",
        target_id=resident.id,
        details={"add": add, "remove": remove},
    )
    await session.flush()
    return tags


async def set_preferences(
    session: AsyncSession,
    *,
    account_id: str,
    temperature_pref: int | None = None,
    consents: dict[str, bool] | None = None,
) -> None:
    resident = (await _account(session, account_id)).resident
    if temperature_pref is not None:
        if not 16 <= temperature_pref <= 26:
            raise InvalidInput("室温偏好应在 16-26℃ 之间")
        resident.temperature_pref = temperature_pref
    if consents:
        resident.consents = {**(resident.consents or {}), **consents}
    await session.flush()


async def reveal_contact(
    session: AsyncSession, *, account_id: str, staff_id: str, role: str, reason: str, clock: Clock
) -> RevealedContact:
    if role not in ("supervisor", "admin"):
        raise PermissionDenied("只有主管可以查看完整联系方式")
    if len(reason.strip()) < 4:
        raise InvalidInput("请填写查看原因（至少 4 个字）")
    account = await _account(session, account_id)
    await record_audit(
        session,
        clock=clock,
        actor=f"staff:{staff_id}",
        action="reveal_contact",
        target_type="account",
        target_id=account.id,
        reason=reason.strip(),
    )
    return RevealedContact(name=account.resident.name, phone=account.resident.phone, address=account.address)
