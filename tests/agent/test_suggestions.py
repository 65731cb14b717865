from datetime import UTC, date, datetime

from sqlalchemy import select

from agent.suggestions import suggest
from kb.models import KbDocument
from tools.clock import FixedClock
from tools.context import ResidentContext
from tools.crm.models import Account
from tools.demo.seed import seed_demo


async def _account_id(session, account_no: str) -> str:
    return await session.scalar(select(Account.id).where(Account.account_no == account_no))


async def test_an_unpaid_resident_is_offered_bill_and_payment_first(session, clock) -> None:
    await seed_demo(session, clock=clock)
    resident = ResidentContext(channel="web", account_id=await _account_id(session, "2026010001"))
    picks = await suggest(session, resident, None, clock=clock)
    assert picks[:2] == ["我还欠多少采暖费？", "在线缴费"] and len(picks) == 4


async def test_a_live_notice_for_the_residents_building_is_suggested(session, clock) -> None:
    await seed_demo(session, clock=clock)
    session.add(
        KbDocument(
            slug="n1",
            title="锦绣花园3号楼停热通知",
            kind="notice",
            content="...",
            content_hash="x",
            valid_from=date(2026, 11, 22),
            valid_to=date(2026, 11, 23),
            scope_community="锦绣花园",
            scope_building="3号楼",
        )
    )
    await session.flush()
    paid_up = ResidentContext(channel="web", account_id=await _account_id(session, "2026010008"))
    assert "锦绣花园3号楼停热通知是怎么回事？" in await suggest(session, paid_up, None, clock=clock)
    later = FixedClock(datetime(2026, 11, 25, 2, tzinfo=UTC))
    assert not any("停热通知" in pick for pick in await suggest(session, paid_up, None, clock=later))


async def test_anonymous_visitors_get_questions_of_the_season_phase(session) -> None:
    anonymous = ResidentContext(channel="web")
    october = FixedClock(datetime(2026, 10, 12, 2, tzinfo=UTC))
    assert "今年什么时候供暖？" in await suggest(session, anonymous, None, clock=october)
    season_start = FixedClock(datetime(2026, 11, 16, 2, tzinfo=UTC))
    assert (await suggest(session, anonymous, "no_heat", clock=season_start))[0] == "暖气片怎么放气？"
