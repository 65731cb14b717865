"""Payment-callback benchmark: N signed WeChat Pay notifications, fired concurrently, credited once each.

    python -m evals.bench_payments --database-url postgresql://postgres@127.0.0.1:5432/wl_bench_payments \\
        --n 2000 --concurrency 20

The database named in the URL is created for the run and dropped afterwards (the run refuses to
touch one that already exists). It seeds N accounts with bills (a third also owe last season's
bill with its late fee), creates one payment order per account through ``create_payment_order``,
then delivers N valid callbacks through ``handle_payment_notification`` — each in its own
transaction, ``--concurrency`` at a time — plus a share of duplicates: half sent right beside their
original (a real race), half replayed later. It prints throughput and latency, then checks the
ledger: exactly one credited payment per transaction, every order paid, every bill settled, one
confirmation per payment, credited total equal to the orders' total.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import tools.models  # noqa: F401  (registers every table on Base.metadata)
from tools.billing import rules
from tools.billing.models import Bill, Payment, PaymentOrder
from tools.billing.notify import handle_payment_notification
from tools.billing.payments import create_payment_order
from tools.billing.wechat_pay import build_notify_xml, to_fen
from tools.clock import FixedClock
from tools.company.models import HeatingSeason
from tools.crm.models import Account, Building, Community, Resident
from tools.db import Base, make_engine, make_sessionmaker, transaction
from tools.demo.company import ensure_company
from tools.outbox import OutboxMessage
from tools.settings import Settings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a week into the season
SEED_BATCH = 250


@dataclass(frozen=True)
class Callback:
    body: bytes
    transaction_id: str


def _admin_conninfo(url: URL) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def create_database(url: URL) -> None:
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone()
        if exists:
            raise SystemExit(f"database {url.database!r} already exists: name a throwaway database")
        conn.execute(f'CREATE DATABASE "{url.database}"')


def drop_database(url: URL) -> None:
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def create_schema(settings: Settings) -> None:
    engine = create_engine(settings.sync_database_url)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()


async def seed(
    sessions: async_sessionmaker[AsyncSession], *, n: int, clock: FixedClock, settings: Settings
) -> list:
    """N accounts with bills and one pending order each; returns the orders."""
    rng = random.Random(2026)
    async with transaction(sessions) as session:
        await ensure_company(session)
        seasons = {s.code: s for s in await session.scalars(select(HeatingSeason))}
        community = Community(name="压测小区", district="城东区")
        session.add(community)
        await session.flush()
        buildings = [Building(community_id=community.id, number=f"{i}号楼") for i in range(1, 41)]
        session.add_all(buildings)
        await session.flush()
        building_ids = [b.id for b in buildings]
    account_ids: list[str] = []
    for start in range(0, n, SEED_BATCH):
        async with transaction(sessions) as session:
            for i in range(start, min(n, start + SEED_BATCH)):
                area = Decimal(rng.randint(4000, 14000)) / 100
                account = Account(
                    account_no=f"9{i:09d}",
                    resident=Resident(name=f"压测{i}", phone=f"139{i:08d}"),
                    building_id=building_ids[i % len(building_ids)],
                    unit=str(i % 6 + 1),
                    room=str(i),
                    heated_area=area,
                )
                session.add(account)
                await session.flush()
                codes = ["2025-2026", "2026-2027"] if i % 3 == 0 else ["2026-2027"]
                for code in codes:
                    season = seasons[code]
                    price = season.tariff_for("residential").unit_price
                    suspended = i % 17 == 0
                    base = rules.base_fee(
                        area, price, suspended=suspended, terms=rules.SeasonTerms.of(season)
                    )
                    session.add(
                        Bill(
                            account_id=account.id,
                            season_id=season.id,
                            heated_area=area,
                            unit_price=price,
                            suspended=suspended,
                            base_amount=base,
                        )
                    )
                account_ids.append(account.id)
    orders = []
    for start in range(0, n, SEED_BATCH):
        async with transaction(sessions) as session:
            for account_id in account_ids[start : start + SEED_BATCH]:
                orders.append(
                    await create_payment_order(session, account_id=account_id, clock=clock, settings=settings)
                )
    return orders


def make_callbacks(
    orders: list, *, settings: Settings, clock: FixedClock, duplicates: float
) -> list[Callback]:
    rng = random.Random(1122)
    originals = [
        Callback(
            build_notify_xml(
                settings=settings,
                out_trade_no=order.order_no,
                total_fee=to_fen(order.amount),
                transaction_id=f"42000020261122{i:014d}",
                time_end=clock.now(),
            ),
            f"42000020261122{i:014d}",
        )
        for i, order in enumerate(orders)
    ]
    stream = list(originals)
    rng.shuffle(stream)
    picked = rng.sample(originals, int(len(originals) * duplicates))
    for k, callback in enumerate(picked):
        if k % 2 == 0:  # beside its original: both in flight at once
            stream.insert(stream.index(callback) + 1, callback)
        else:  # a retry that comes later
            stream.append(callback)
    return stream


async def fire(
    sessions: async_sessionmaker[AsyncSession],
    callbacks: list[Callback],
    *,
    concurrency: int,
    clock: FixedClock,
    settings: Settings,
) -> tuple[float, list[float], Counter]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcomes: Counter = Counter()

    async def deliver(callback: Callback) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                async with transaction(sessions) as session:
                    result = await handle_payment_notification(
                        session, xml_body=callback.body, clock=clock, settings=settings
                    )
                outcomes[result.outcome] += 1
            except Exception as error:  # counted, so the verification fails loudly
                outcomes[f"error:{type(error).__name__}"] += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(deliver(callback) for callback in callbacks))
    return time.perf_counter() - started, latencies, outcomes


async def verify(sessions: async_sessionmaker[AsyncSession], orders: list, n_unique: int) -> list[str]:
    problems = []
    async with sessions() as session:

        async def scalar(stmt) -> object:
            return await session.scalar(stmt)

        per_txn = await scalar(
            select(func.count()).select_from(
                select(Payment.transaction_id)
                .group_by(Payment.transaction_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        payments = await scalar(select(func.count()).select_from(Payment).where(Payment.status == "credited"))
        anomalies = await scalar(
            select(func.count()).select_from(Payment).where(Payment.status != "credited")
        )
        credited = await scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.status == "credited")
        )
        paid_orders = await scalar(
            select(func.count()).select_from(PaymentOrder).where(PaymentOrder.status == "paid")
        )
        open_bills = await scalar(select(func.count()).select_from(Bill).where(Bill.status != "paid"))
        confirmations = await scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "payment_confirmed")
        )
    expected = sum((order.amount for order in orders), Decimal("0"))
    checks = {
        "transactions credited more than once": (per_txn, 0),
        "credited payments": (payments, n_unique),
        "anomalies": (anomalies, 0),
        "credited total": (credited, expected),
        "paid orders": (paid_orders, len(orders)),
        "bills not settled": (open_bills, 0),
        "payment confirmations": (confirmations, n_unique),
    }
    for name, (got, want) in checks.items():
        status = "ok" if got == want else "MISMATCH"
        print(f"  {name:<38} {got!s:>14}  (expected {want})  {status}")
        if got != want:
            problems.append(name)
    return problems


async def run(args: argparse.Namespace) -> int:
    url = make_url(args.database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        raise SystemExit("--database-url must name a PostgreSQL database")
    create_database(url)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=Path(data_dir),
                database_url=args.database_url,
                log_json=False,
            )
            create_schema(settings)
            engine = make_engine(settings, pool_size=args.concurrency, max_overflow=args.concurrency)
            try:
                sessions = make_sessionmaker(engine)
                clock = FixedClock(NOW)
                started = time.perf_counter()
                orders = await seed(sessions, n=args.n, clock=clock, settings=settings)
                print(f"seeded {args.n} accounts and orders in {time.perf_counter() - started:.1f} s")
                callbacks = make_callbacks(orders, settings=settings, clock=clock, duplicates=args.duplicates)
                elapsed, latencies, outcomes = await fire(
                    sessions, callbacks, concurrency=args.concurrency, clock=clock, settings=settings
                )
                quantiles = statistics.quantiles(latencies, n=100)
                print(
                    f"callbacks: {len(callbacks)} ({args.n} unique + {len(callbacks) - args.n} duplicates), "
                    f"concurrency {args.concurrency}, wall {elapsed:.2f} s"
                )
                print(f"throughput: {len(callbacks) / elapsed:.1f} callbacks/s")
                print(
                    f"latency: p50 {quantiles[49] * 1000:.1f} ms, p95 {quantiles[94] * 1000:.1f} ms, "
                    f"p99 {quantiles[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
                )
                print(f"outcomes: {dict(sorted(outcomes.items()))}")
                print("ledger checks:")
                problems = await verify(sessions, orders, args.n)
                if outcomes["credited"] != args.n:
                    problems.append("credited outcomes")
            finally:
                await engine.dispose()
    finally:
        if not args.keep:
            drop_database(url)
    print("RESULT: " + ("exactly one credit per transaction" if not problems else f"FAILED {problems}"))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to create and drop")
    parser.add_argument("--n", type=int, default=2000, help="unique transactions (one per account)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.25, help="share of transactions sent twice")
    parser.add_argument("--keep", action="store_true", help="keep the database for inspection")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
