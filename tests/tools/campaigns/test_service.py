from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.tools.crm.factories import make_account
from tools.campaigns.service import Target, campaign_results, create_campaign, send_campaign, target_accounts
from tools.conversations.service import Labels, append_message, open_conversation
from tools.errors import InvalidInput
from tools.outbox import OutboxMessage


async def _residents(session) -> dict[str, str]:
    plan = {
        "elder_jinxiu": dict(tags=["独居老人"], community="锦绣花园", building="3号楼"),
        "elder_jinxiu_b5": dict(tags=["独居老人", "行动不便"], community="锦绣花园", building="5号楼"),
        "baby_jinxiu": dict(tags=["婴幼儿家庭"], community="锦绣花园", building="3号楼"),
        "elder_sunshine": dict(tags=["独居老人"], community="阳光小区", building="2号楼"),
        "plain_sunshine": dict(tags=[], community="阳光小区", building="2号楼"),
    }
    return {key: (await make_account(session, **kwargs)).id for key, kwargs in plan.items()}


async def test_targets_only_residents_with_the_tag_in_the_community(session) -> None:
    ids = await _residents(session)
    found = await target_accounts(session, Target(tags=["独居老人"], community="锦绣花园"))
    assert {a.id for a in found} == {ids["elder_jinxiu"], ids["elder_jinxiu_b5"]}


async def test_a_building_target_reaches_every_account_of_that_building(session) -> None:
    ids = await _residents(session)
    found = await target_accounts(session, Target(community="阳光小区", building="2号楼"))
    assert {a.id for a in found} == {ids["elder_sunshine"], ids["plain_sunshine"]}


@pytest.mark.parametrize(
    "target",
    [Target(), Target(tags=["不存在"]), Target(building="3号楼")],
)
async def test_unsafe_or_unknown_targets_are_refused(session, target) -> None:
    with pytest.raises(InvalidInput):
        await target_accounts(session, target)


async def test_sending_twice_messages_each_resident_once_and_counts_replies(session, clock) -> None:
    ids = await _residents(session)
    campaign = await create_campaign(
        session,
        name="寒潮关怀",
        text="【恒暖热力】明日寒潮降温，请注意保暖，如暖气不热请随时联系我们。",
        kind="care",
        target=Target(tags=["独居老人"], community="锦绣花园"),
        actor="staff:s1",
        clock=clock,
    )
    assert await send_campaign(session, campaign=campaign, clock=clock) == 2
    assert await send_campaign(session, campaign=campaign, clock=clock) == 0
    care = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "care")
    )
    assert care == 2

    clock.advance(timedelta(hours=2))
    conversation = await open_conversation(
        session, channel="web", account_id=ids["elder_jinxiu"], clock=clock
    )
    await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text="谢谢你们惦记",
        clock=clock,
        labels=Labels("praise_suggestion", "satisfied", "low", 0.9),
    )
    first = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "care").limit(1))
    first.status = "sent"
    await session.flush()
    results = await campaign_results(session, campaign=campaign)
    assert (results.recipients, results.delivered, results.pending, results.replied) == (2, 1, 1, 1)
