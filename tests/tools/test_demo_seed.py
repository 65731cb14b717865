from decimal import Decimal

from sqlalchemy import select

from tools.billing.models import Bill
from tools.company.models import HeatingSeason
from tools.crm.models import Account
from tools.demo.population import DEMO_ACCOUNTS, resident_rows, worker_rows
from tools.demo.seed import seed_demo
from tools.validators import valid_id_card


async def _bill(session, account_no: str, season: str) -> Bill:
    return await session.scalar(
        select(Bill)
        .join(Account, Bill.account_id == Account.id)
        .join(HeatingSeason, Bill.season_id == HeatingSeason.id)
        .where(Account.account_no == account_no, HeatingSeason.code == season)
    )


async def test_seeding_twice_gives_the_same_company(session, clock) -> None:
    first = await seed_demo(session, clock=clock)
    second = await seed_demo(session, clock=clock)
    assert first == second
    assert first["accounts"] == 200 and first["bills"] == 400 and first["workers"] >= 15
    assert first["communities"] == 6 and first["staff"] == 6
    assert 0.40 <= first["unpaid_current_bills"] / first["accounts"] <= 0.65


async def test_fixed_demo_accounts_have_their_documented_state(session, clock) -> None:
    await seed_demo(session, clock=clock)
    assert set(DEMO_ACCOUNTS) <= set(await session.scalars(select(Account.account_no)))
    unpaid = await _bill(session, "2026010001", "2026-2027")
    assert (unpaid.base_amount, unpaid.status) == (Decimal("2327.00"), "unpaid")  # 89.50 × 26.00
    early = await _bill(session, "2026010003", "2026-2027")
    assert early.status == "paid" and early.discount_amount == (early.base_amount * Decimal("0.03")).quantize(
        Decimal("0.01")
    )
    suspended = await _bill(session, "2026010005", "2026-2027")
    assert suspended.suspended and suspended.base_amount == Decimal("686.40")  # 88 × 26 × 30%
    assert (await _bill(session, "2026010007", "2025-2026")).status == "unpaid"
    assert (await _bill(session, "2026010004", "2026-2027")).status == "partial"
    shop = await session.scalar(select(Account).where(Account.account_no == "2026010006"))
    assert shop.kind == "non_residential"


def test_every_district_has_two_no_heat_and_two_leak_workers() -> None:
    for district in ("城东区", "城西区", "滨河新区"):
        workers = [w for w in worker_rows() if w["district"] == district]
        for skill in ("no_heat", "leak"):
            assert sum(skill in w["skills"] for w in workers) >= 2, (district, skill)


def test_generated_id_numbers_have_valid_check_digits() -> None:
    numbers = [row["id_card_no"] for row in resident_rows() if row["id_card_no"]]
    assert len(numbers) > 80 and all(valid_id_card(number) for number in numbers)
