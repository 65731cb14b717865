import pytest
from sqlalchemy import select

from tests.tools.crm.factories import make_account
from tools.audit import AuditLog
from tools.conversations.service import open_conversation
from tools.crm.profile import get_profile, reveal_contact, set_preferences, set_tags
from tools.errors import InvalidInput, PermissionDenied


async def test_profile_is_masked_and_counts_contacts_per_channel(session, clock) -> None:
    account = await make_account(session, phone="13912340001", tags=["独居老人"])
    for channel in ("wechat", "wechat", "web"):
        await open_conversation(session, channel=channel, account_id=account.id, clock=clock)
    profile = await get_profile(session, account_id=account.id)
    assert profile.account.phone == "139****0001"
    assert "5" not in profile.account.address.split("单元")[-1]
    assert profile.vulnerable is True
    assert {c.channel: c.conversations for c in profile.contacts} == {"wechat": 2, "web": 1}


async def test_tags_are_validated_and_audited(session, clock) -> None:
    account = await make_account(session)
    tags = await set_tags(
        session, account_id=account.id, add=["婴幼儿家庭"], remove=[], actor="staff:1", clock=clock
    )
    assert tags == ["婴幼儿家庭"]
    with pytest.raises(InvalidInput):
        await set_tags(session, account_id=account.id, add=["VIP"], remove=[], actor="staff:1", clock=clock)
    assert await session.scalar(select(AuditLog).where(AuditLog.action == "set_tags"))


async def test_temperature_preference_is_bounded(session) -> None:
    account = await make_account(session)
    await set_preferences(session, account_id=account.id, temperature_pref=22, consents={"care_calls": True})
    with pytest.raises(InvalidInput):
        await set_preferences(session, account_id=account.id, temperature_pref=35)


async def test_only_supervisors_reveal_contacts_and_it_is_audited(session, clock) -> None:
    account = await make_account(session, phone="13912340001")
    with pytest.raises(PermissionDenied):
        await reveal_contact(
            session, account_id=account.id, staff_id="a", role="agent", reason="回访核实", clock=clock
        )
    with pytest.raises(InvalidInput):
        await reveal_contact(
            session, account_id=account.id, staff_id="s", role="supervisor", reason="", clock=clock
        )
    revealed = await reveal_contact(
        session, account_id=account.id, staff_id="s", role="supervisor", reason="上门核实地址", clock=clock
    )
    assert revealed.phone == "13912340001"
    entry = await session.scalar(select(AuditLog).where(AuditLog.action == "reveal_contact"))
    assert entry.reason == "上门核实地址" and entry.actor == "staff:s"
