"""The world a scenario runs in: a seeded demo company, one fresh copy per run, served over HTTP.

The demo database is migrated and seeded once into a template file; every run gets its own copy,
so runs never see each other's tickets or orders, and the knowledge base and classifier are built
once and shared (they are read-only during a run). Each run is served by a real uvicorn server on
127.0.0.1 and spoken to over HTTP, the way a widget or app would. The app factory and the
migration step are passed in by the composition root (``warmline eval``), which keeps this
package below the back office in the layering.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import tools.demo
from kb.ingest import ingest_paths
from tools.billing import service as billing
from tools.billing.models import Bill
from tools.clock import FixedClock
from tools.company.models import HeatingSeason
from tools.crm.models import Account, Building, Community, Resident
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo
from tools.settings import Settings
from tools.tickets import service as tickets
from tools.tickets.models import Ticket

# 2026-11-22 10:00 in Shanghai: a week into the 2026-2027 season, bills due, 报停 closed.
SCENARIO_NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

DEMO_DOCS = Path(tools.demo.__file__).parent / "kb_docs"

AppFactory = Callable[..., Any]
Migrate = Callable[[Settings], None]


@dataclass(frozen=True)
class PlayedResident:
    account_id: str
    account_no: str
    phone_last4: str
    name: str
    community: str
    building: str


class World:
    """A seeded template and the shared read-only services every run reuses."""

    def __init__(
        self,
        root: Path,
        *,
        make_app: AppFactory,
        migrate: Migrate,
        kb: Any,
        classifier: Any,
        docs: Path | None = DEMO_DOCS,
    ) -> None:
        """``docs=None`` leaves the knowledge base empty: the "bot without KB" baseline, a company
        whose data is seeded but whose documents were never ingested."""
        self.root = root
        self.make_app = make_app
        self.kb = kb
        self.classifier = classifier
        self.docs = docs
        self.clock = FixedClock(SCENARIO_NOW)
        self.template = root / "template.db"
        self._migrate = migrate
        self._runs = 0

    def settings_for(self, db_file: Path) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=db_file.parent / f"{db_file.stem}-data",
            database_url=f"sqlite:///{db_file}",
            log_json=False,
            log_level="WARNING",
        )

    async def build_template(self) -> None:
        settings = self.settings_for(self.template)
        await asyncio.to_thread(self._migrate, settings)
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                await seed_demo(session, clock=self.clock)
            if self.docs is None:
                return
            async with transaction(make_sessionmaker(engine)) as session:
                report = await ingest_paths(session, [self.docs], kb=self.kb, clock=self.clock, actor="eval")
            if report.problems:
                raise RuntimeError(f"demo knowledge base did not ingest cleanly: {report.problems}")
        finally:
            await engine.dispose()

    def fresh_copy(self) -> Settings:
        self._runs += 1
        target = self.root / f"run{self._runs:04d}.db"
        shutil.copyfile(self.template, target)
        return self.settings_for(target)


async def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def served(world: World, settings: Settings, *, model: Any = None) -> AsyncIterator[str]:
    """Serve one run's company on a free 127.0.0.1 port; yields the base URL."""
    import uvicorn

    app = world.make_app(
        settings, clock=world.clock, run_jobs=False, kb=world.kb, model=model, classifier=world.classifier
    )
    sock = await _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces a startup failure
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


# --- choosing the demo resident a scenario plays --------------------------------------------------


async def _current_bills(session: AsyncSession) -> dict[str, Bill]:
    season = await session.scalar(select(HeatingSeason.id).where(HeatingSeason.code == "2026-2027"))
    return {
        bill.account_id: bill for bill in await session.scalars(select(Bill).where(Bill.season_id == season))
    }


async def select_account(session: AsyncSession, spec: str | dict[str, Any], *, skip: set[str]) -> Account:
    """An account by number, or the first demo account matching a selector and not already taken.

    Selectors: ``unpaid_current``, ``paid_current``, ``suspended_current``, ``older_arrears``,
    ``vulnerable``, ``no_tickets``; optional ``community`` and ``building`` narrow it down.
    """
    if isinstance(spec, str):
        account = await session.scalar(select(Account).where(Account.account_no == spec))
        if account is None:
            raise LookupError(f"no demo account {spec}")
        return account
    wanted = spec.get("select", "any")
    stmt = (
        select(Account)
        .join(Building, Account.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
        .join(Resident, Account.resident_id == Resident.id)
        .order_by(Account.account_no)
    )
    if spec.get("community"):
        stmt = stmt.where(Community.name == spec["community"])
    if spec.get("building"):
        stmt = stmt.where(Building.number == spec["building"])
    if spec.get("kind"):
        stmt = stmt.where(Account.kind == spec["kind"])
    bills = await _current_bills(session)
    with_tickets = set(await session.scalars(select(Ticket.account_id)))
    for account in await session.scalars(stmt):
        if account.id in skip or account.id in with_tickets:
            continue
        bill = bills.get(account.id)
        if await _matches(session, account, bill, wanted):
            return account
    raise LookupError(f"no demo account matches {spec}")


async def _matches(session: AsyncSession, account: Account, bill: Bill | None, wanted: str) -> bool:
    vulnerable = account.resident.is_vulnerable
    if wanted == "vulnerable":
        return vulnerable
    if vulnerable:
        return False  # keep ordinary scenarios off the residents whose urgency is raised
    if wanted in ("any", "no_tickets"):
        return True
    if bill is None:
        return False
    if wanted == "suspended_current":
        return bill.suspended
    if wanted == "paid_current":
        return bill.status == "paid" and not bill.suspended and not await _older_due(session, account)
    if wanted == "unpaid_current":
        return bill.status == "unpaid" and not bill.suspended and not await _older_due(session, account)
    if wanted == "older_arrears":
        return await _older_due(session, account)
    raise ValueError(f"unknown account selector {wanted!r}")


async def _older_due(session: AsyncSession, account: Account) -> bool:
    statement = await billing.get_statement(session, account_id=account.id, clock=FixedClock(SCENARIO_NOW))
    return any(bill.season_code != "2026-2027" for bill in statement.arrears)


def resident_of(account: Account) -> PlayedResident:
    return PlayedResident(
        account_id=account.id,
        account_no=account.account_no,
        phone_last4=account.resident.phone[-4:],
        name=account.resident.name,
        community=account.building.community.name,
        building=account.building.number,
    )


async def total_due(session: AsyncSession, account_id: str, clock: FixedClock) -> Decimal:
    return (await billing.get_statement(session, account_id=account_id, clock=clock)).total_due


async def apply_setup(
    session: AsyncSession, step: dict[str, Any], *, account: Account, clock: FixedClock, settings: Settings
) -> None:
    """State a scenario starts from, made through the same services the product uses."""
    if "open_ticket" in step:
        await tickets.create_or_attach(
            session,
            account_id=account.id,
            category=step["open_ticket"],
            urgency="normal",
            description="住户此前电话报修",
            clock=clock,
            settings=settings,
        )
    elif "neighbours_report" in step:
        # Other accounts of the same building already reported the same fault (a building alert case).
        neighbours = await session.scalars(
            select(Account)
            .where(Account.building_id == account.building_id, Account.id != account.id)
            .order_by(Account.account_no)
            .limit(int(step["neighbours_report"]))
        )
        for neighbour in neighbours:
            await tickets.create_or_attach(
                session,
                account_id=neighbour.id,
                category="no_heat",
                urgency="normal",
                description="邻居报修：家里暖气不热",
                clock=clock,
                settings=settings,
            )
    else:
        raise ValueError(f"unknown setup step {step}")


async def count_rows(session: AsyncSession, model: type, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
