from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tools.billing.models import Bill
from tools.crm.models import Account, Community, Resident
from tools.demo.company import ensure_company
from tools.dispatch.models import Worker
from tools.importing import import_csv

SAMPLES = Path(__file__).resolve().parents[2] / "tools" / "demo" / "samples"
HEADER = "account_no,name,phone,community,district,building,unit,room,heated_area,kind,tags\n"


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model))


async def test_sample_files_import_and_amounts_are_computed(session, clock) -> None:
    await ensure_company(session)
    for kind in ("residents", "workers", "bills"):
        report = await import_csv(session, kind=kind, path=SAMPLES / f"{kind}.csv", clock=clock)
        assert report.errors == [], report.errors
    account = await session.scalar(select(Account).where(Account.account_no == "2026070001"))
    assert account.heated_area == Decimal("86.40") and account.resident.tags == ["独居老人"]
    bill = await session.scalar(select(Bill).where(Bill.account_id == account.id))
    # 86.40 ㎡ × 26.00 = 2246.40; paid in full before 31 October: 3% off = 67.39 → 2179.01
    assert (bill.base_amount, bill.discount_amount, bill.amount_paid, bill.status) == (
        Decimal("2246.40"),
        Decimal("67.39"),
        Decimal("2179.01"),
        "paid",
    )
    shop = await session.scalar(select(Account).where(Account.account_no == "2026070003"))
    shop_bill = await session.scalar(select(Bill).where(Bill.account_id == shop.id))
    assert (shop_bill.base_amount, shop_bill.status) == (Decimal("6840.00"), "partial")
    suspended = await session.scalar(select(Account).where(Account.account_no == "2026070004"))
    suspended_bill = await session.scalar(select(Bill).where(Bill.account_id == suspended.id))
    assert suspended.status == "suspended" and suspended_bill.base_amount == Decimal("615.42")
    worker = await session.scalar(select(Worker).where(Worker.code == "W101"))
    assert worker.skills == ["no_heat", "leak", "valve"]


async def test_reimport_updates_instead_of_duplicating(session, clock) -> None:
    first = await import_csv(session, kind="residents", path=SAMPLES / "residents.csv", clock=clock)
    again = await import_csv(session, kind="residents", path=SAMPLES / "residents.csv", clock=clock)
    assert (first.created, first.updated) == (4, 0) and (again.created, again.updated) == (0, 4)
    assert await count(session, Account) == 4 and await count(session, Community) == 1


async def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(
    session, clock, tmp_path
) -> None:
    path = write(
        tmp_path,
        HEADER
        + "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民,\n"
        + "12345,冯德明,1380000,松竹园,城东区,1号楼,2,502,-3,居民,VIP\n"
        + "2026070003,韩晓燕,13800004444,松竹园,城东区,1号楼,1,301,78.901,别墅,\n",
    )
    report = await import_csv(session, kind="residents", path=path, clock=clock)
    lines = {error.line: error.reason for error in report.errors}
    assert set(lines) == {3, 4}
    assert "户号" in lines[3] and "手机号" in lines[3] and "供热面积" in lines[3] and "未知标签" in lines[3]
    assert "用户类型" in lines[4] and "最多 2 位小数" in lines[4]
    assert report.created == 0
    await session.rollback()
    assert await count(session, Account) == 0 and await count(session, Resident) == 0


async def test_the_same_room_twice_is_refused(session, clock, tmp_path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民,\n"
        + "2026070002,冯德明,13800002222,松竹园,城东区,1号楼,1,301,86.40,居民,\n",
    )
    report = await import_csv(session, kind="residents", path=path, clock=clock)
    assert [(e.line, "第 2 行" in e.reason) for e in report.errors] == [(3, True)]


async def test_duplicate_keys_in_one_file_name_the_first_line(session, clock, tmp_path) -> None:
    row = "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民,\n"
    report = await import_csv(
        session, kind="residents", path=write(tmp_path, HEADER + row + row), clock=clock
    )
    assert report.errors[0].line == 3 and "第 2 行" in report.errors[0].reason


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
async def test_excel_encodings_are_read(session, clock, tmp_path, encoding) -> None:
    path = write(
        tmp_path,
        HEADER + "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民,\n",
        encoding=encoding,
    )
    report = await import_csv(session, kind="residents", path=path, clock=clock)
    assert report.errors == [] and report.created == 1
    assert (await session.scalar(select(Resident))).name == "郑淑华"


async def test_header_problems_are_reported_on_line_one(session, clock, tmp_path) -> None:
    report = await import_csv(
        session, kind="workers", path=write(tmp_path, "code,name,colour\nW1,x,red\n"), clock=clock
    )
    assert len(report.errors) == 1 and report.errors[0].line == 1
    assert "缺少列" in report.errors[0].reason and "colour" in report.errors[0].reason


async def test_an_empty_file_is_an_error(session, clock, tmp_path) -> None:
    report = await import_csv(session, kind="residents", path=write(tmp_path, HEADER), clock=clock)
    assert report.errors and report.errors[0].reason == "文件中没有数据行"


async def test_bills_need_known_accounts_and_seasons_and_cannot_be_overpaid(session, clock, tmp_path) -> None:
    await ensure_company(session)
    await import_csv(session, kind="residents", path=SAMPLES / "residents.csv", clock=clock)
    path = write(
        tmp_path,
        "account_no,season,amount_paid,paid_on\n"
        "2026079999,2026-2027,0,\n"
        "2026070001,2030-2031,0,\n"
        "2026070002,2026-2027,99999.00,2026-11-01\n"
        "2026070002,2025-2026,100,\n",
    )
    report = await import_csv(session, kind="bills", path=path, clock=clock)
    reasons = {error.line: error.reason for error in report.errors}
    assert (
        "不存在" in reasons[2]
        and "采暖季" in reasons[3]
        and "超过应缴" in reasons[4]
        and "缴费日期" in reasons[5]
    )


async def test_worker_rows_check_skills_and_shift(session, clock, tmp_path) -> None:
    path = write(
        tmp_path,
        "code,name,phone,skills,district,home_lat,home_lon,shift_start,shift_end\n"
        "W1,甲,15600000001,修电视,城东区,41.8,123.4,08:00,18:00\n"
        "W2,乙,15600000002,漏水,城东区,41.8,123.4,18:00,08:00\n",
    )
    report = await import_csv(session, kind="workers", path=path, clock=clock)
    assert [e.line for e in report.errors] == [2, 3]
    assert "未知技能" in report.errors[0].reason and "上班时间" in report.errors[1].reason
