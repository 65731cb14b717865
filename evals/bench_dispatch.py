"""Dispatch benchmark: bulk-assign open tickets across workers, and route one worker's day.

    python -m evals.bench_dispatch                       # SQLite in a temporary directory
    python -m evals.bench_dispatch --database-url postgresql://postgres@127.0.0.1:5432/wl_bench_dispatch

A PostgreSQL database named in the URL is created for the run and dropped afterwards (the run
refuses one that already exists). The run seeds ``--workers`` workers over three districts and
``--tickets`` open tickets (one per account, spread over 60 buildings, 5% emergencies) through the
same ``create_or_attach`` residents use, then times ``assign_open_tickets`` (choose, assign, plan
every touched worker with OR-Tools, put each ETA on the timeline) in one transaction. Separately it
routes ``--visits`` visits for one worker with ``plan_route`` and prints the solver status.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import tools.models  # noqa: F401  (registers every table on Base.metadata)
from evals.bench_payments import create_database, drop_database
from tools.clock import FixedClock
from tools.crm.models import Account, Building, Community, Resident
from tools.db import Base, make_engine, make_sessionmaker, transaction
from tools.dispatch.models import Worker
from tools.dispatch.routing import Shift, Visit, plan_route
from tools.dispatch.service import assign_open_tickets
from tools.labels import REPAIR_CATEGORIES
from tools.settings import Settings
from tools.tickets.service import create_or_attach

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
DISTRICTS = {"城东区": (41.800, 123.455), "城西区": (41.798, 123.352), "滨河新区": (41.748, 123.428)}


def _near(rng: random.Random, centre: tuple[float, float], spread: float) -> tuple[float, float]:
    return centre[0] + rng.uniform(-spread, spread), centre[1] + rng.uniform(-spread, spread)


async def seed(sessions, *, tickets: int, workers: int, clock: FixedClock, settings: Settings) -> None:
    rng = random.Random(2026)
    async with transaction(sessions) as session:
        for number in range(workers):
            district = list(DISTRICTS)[number % 3]
            lat, lon = _near(rng, DISTRICTS[district], 0.01)
            session.add(
                Worker(
                    code=f"B{number:03d}",
                    name=f"压测师傅{number}",
                    phone=f"1560000{number:04d}",
                    skills=rng.sample(REPAIR_CATEGORIES, 3),
                    district=district,
                    home_lat=lat,
                    home_lon=lon,
                )
            )
        buildings = []
        for district, centre in DISTRICTS.items():
            community = Community(name=f"压测{district}小区", district=district, lat=centre[0], lon=centre[1])
            session.add(community)
            await session.flush()
            for index in range(20):
                lat, lon = _near(rng, centre, 0.02)
                buildings.append(
                    Building(community_id=community.id, number=f"{index + 1}号楼", lat=lat, lon=lon)
                )
        session.add_all(buildings)
        await session.flush()
        building_ids = [b.id for b in buildings]
    for start in range(0, tickets, 200):
        async with transaction(sessions) as session:
            for i in range(start, min(tickets, start + 200)):
                account = Account(
                    account_no=f"8{i:09d}",
                    resident=Resident(name=f"压测{i}", phone=f"139{i:08d}"),
                    building_id=building_ids[i % len(building_ids)],
                    unit=str(i % 6 + 1),
                    room=str(i),
                    heated_area=Decimal("80.00"),
                )
                session.add(account)
                await session.flush()
                await session.refresh(account, ["building"])
                clock.set(NOW - timedelta(minutes=rng.randint(0, 600)))
                await create_or_attach(
                    session,
                    account_id=account.id,
                    category=rng.choice(("no_heat", "no_heat", "leak", "valve", "equipment_noise")),
                    urgency="emergency" if rng.random() < 0.05 else rng.choice(("high", "normal", "normal")),
                    description="压测报修",
                    clock=clock,
                    settings=settings,
                )
    clock.set(NOW)


def bench_route(visits: int, *, settings: Settings) -> tuple[float, str, str, int]:
    rng = random.Random(7)
    home = DISTRICTS["城东区"]
    day = [
        Visit(
            key=f"v{i}",
            point=_near(rng, home, 0.03),
            service_min=rng.choice((30, 40, 45, 60)),
            due=NOW + timedelta(minutes=rng.randint(60, 1440)),
            emergency=i == 0,
        )
        for i in range(visits)
    ]

    def shifts():
        offset = 0
        while True:
            yield Shift(NOW + timedelta(days=offset), NOW + timedelta(days=offset, hours=9), home)
            offset += 1

    started = time.perf_counter()
    plan = plan_route(
        day, shifts(), speed_kmh=settings.dispatch_speed_kmh, time_limit_s=settings.routing_time_limit_s
    )
    today = sum(1 for v in plan.visits if v.start < NOW + timedelta(hours=9))
    return (time.perf_counter() - started) * 1000, plan.status, plan.method, today


async def run(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    backend = make_url(url).get_backend_name()
    if backend.startswith("postgres"):
        create_database(make_url(url))
    settings = Settings(_env_file=None, data_dir=Path(tmp.name), database_url=url, log_json=False)  # type: ignore[call-arg]
    sync = create_engine(settings.sync_database_url)
    Base.metadata.create_all(sync)
    sync.dispose()
    engine = make_engine(settings)
    clock = FixedClock(NOW)
    try:
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        await seed(sessions, tickets=args.tickets, workers=args.workers, clock=clock, settings=settings)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        async with transaction(sessions) as session:
            outcome = await assign_open_tickets(session, clock=clock, settings=settings)
        total = time.perf_counter() - started
        methods = Counter(plan.method for plan in outcome.plans.values())
        solve_ms = sum(plan.solve_ms for plan in outcome.plans.values())
        loads = Counter(o.worker.code for o in outcome.assigned)
        route_ms, status, method, today = bench_route(args.visits, settings=settings)
    finally:
        await engine.dispose()
        if backend.startswith("postgres"):
            drop_database(make_url(url))
        tmp.cleanup()
    n = len(outcome.assigned)
    rows = [
        ("database", backend),
        ("seed (not timed below)", f"{seeded:.1f} s"),
        (f"bulk dispatch {args.tickets} tickets / {args.workers} workers", f"{total:.2f} s"),
        ("  per ticket", f"{total / max(1, n) * 1000:.1f} ms"),
        ("  assigned / unassigned", f"{n} / {len(outcome.unassigned)}"),
        ("  route plans (OR-Tools solve time)", f"{len(outcome.plans)} ({solve_ms / 1000:.2f} s)"),
        ("  plan methods", ", ".join(f"{k}={v}" for k, v in sorted(methods.items()))),
        (
            "  visits per worker min / max",
            f"{min(loads.values(), default=0)} / {max(loads.values(), default=0)}",
        ),
        (f"route {args.visits} visits, one worker", f"{route_ms:.0f} ms"),
        ("  solver status / method", f"{status} / {method}"),
        ("  visits fitted in today's 9 h shift", str(today)),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database (created and dropped)")
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--visits", type=int, default=20)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
