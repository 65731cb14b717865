"""Load the demo company idempotently: company and seasons, then residents, workers and bills
through the CSV importer, then back-office users. Running it twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import Bill
from tools.clock import Clock
from tools.company.models import HeatingSeason
from tools.crm.models import Account, Building, Community
from tools.demo.company import ensure_company
from tools.demo.population import bill_rows, resident_rows, worker_rows
from tools.dispatch.models import Worker
from tools.importing import import_rows
from tools.staff.models import StaffUser
from tools.staff.service import create_staff

STAFF = (  # username, password, role, display name, worker code
    ("admin", "warmline-admin", "admin", "系统管理员", None),
    ("supervisor", "warmline-super", "supervisor", "王主管", None),
    ("agent1", "warmline-agent", "agent", "客服小李", None),
    ("agent2", "warmline-agent", "agent", "客服小赵", None),
    ("w001", "warmline-worker", "worker", "王建国", "W001"),
    ("w002", "warmline-worker", "worker", "李卫东", "W002"),
)


async def seed_demo(session: AsyncSession, *, clock: Clock) -> dict[str, int]:
    await ensure_company(session)
    for kind, rows in (("residents", resident_rows()), ("workers", worker_rows()), ("bills", bill_rows())):
        report = await import_rows(
            session, kind=kind, rows=[(index + 2, row) for index, row in enumerate(rows)], clock=clock
        )
        if report.errors:
            problems = "; ".join(f"line {e.line}: {e.reason}" for e in report.errors[:5])
            raise RuntimeError(f"demo {kind} did not import cleanly: {problems}")
    existing = set(await session.scalars(select(StaffUser.username)))
    workers = {w.code: w.id for w in await session.scalars(select(Worker))}
    for username, password, role, name, worker_code in STAFF:
        if username not in existing:
            await create_staff(
                session,
                username=username,
                display_name=name,
                password=password,
                role=role,
                worker_id=workers.get(worker_code) if worker_code else None,
            )
    return await demo_counts(session)


async def demo_counts(session: AsyncSession) -> dict[str, int]:
    async def count(model: type, *where: object) -> int:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    current = await session.scalar(select(HeatingSeason.id).where(HeatingSeason.code == "2026-2027"))
    return {
        "communities": await count(Community),
        "buildings": await count(Building),
        "accounts": await count(Account),
        "bills": await count(Bill),
        "unpaid_current_bills": await count(Bill, Bill.season_id == current, Bill.status != "paid"),
        "workers": await count(Worker),
        "staff": await count(StaffUser),
    }
