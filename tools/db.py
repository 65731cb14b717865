"""SQLAlchemy foundation: declarative base, portable column types, engine and session factories.

Every model in every package derives from ``Base``. The column types here exist so SQLite and
PostgreSQL behave identically: instants are stored as naive UTC and come back aware; money and
areas are stored as integer hundredths and come back as exact ``Decimal`` (SQLite has no decimal).
Services take an ``AsyncSession`` and flush; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, MetaData, String, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from tools.errors import InvalidInput
from tools.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CENT = Decimal("0.01")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Fixed(TypeDecorator[Decimal]):
    """An exact Decimal with a fixed number of places, stored as a scaled integer.

    ``Fixed(2)`` holds money in fen and areas in hundredths of a ㎡; ``Fixed(6)`` holds rates.
    Binding a value with more places is an error rather than a silent rounding: rounding is a
    business rule and belongs where the amount is computed.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 2) -> None:
        super().__init__()
        self.places = places
        self._quantum = Decimal(1).scaleb(-places)

    def __repr__(self) -> str:
        return f"Fixed(places={self.places})"

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        amount = Decimal(value)
        if amount != amount.quantize(self._quantum):
            raise ValueError(f"{amount} has more than {self.places} decimal places")
        return int(amount.scaleb(self.places))

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-self.places).quantize(self._quantum)


def Money() -> Fixed:
    return Fixed(2)


def Rate() -> Fixed:
    return Fixed(6)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def round_money(amount: Decimal) -> Decimal:
    """The company's rounding rule: to the fen, half up (四舍五入到分)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def new_id() -> str:
    return uuid.uuid4().hex


class IdMixin:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: datetime.now(UTC))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=lambda: datetime.now(UTC), onupdate=lambda: datetime.now(UTC)
    )


def make_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.ensure_dirs()
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_execute", _refuse_nul_early)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    return engine


def _refuse_nul(  # SQLAlchemy matches listeners by signature
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """PostgreSQL cannot store U+0000 in text or JSON (a 500 from deep in a flush, found by the
    OpenAPI fuzz); SQLite can. Refuse it on every backend, before the statement runs, as bad input.
    Bound values are checked as the driver gets them (PostgreSQL's JSON arrives wrapped, with the
    Python value inside) and, for ORM and parameterised statements, as the caller passed them
    (SQLite's JSON arrives as text in which U+0000 is already the escape ``\\u0000``)."""
    if _has_nul(parameters):
        raise _nul_refused()


def _refuse_nul_early(
    conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
) -> None:
    if _has_nul(multiparams) or _has_nul(params):
        raise _nul_refused()


def _nul_refused() -> InvalidInput:
    return InvalidInput("文本中不能含有空字符（U+0000）", code="nul_character")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(item) for item in value)
    wrapped = getattr(value, "obj", None)  # psycopg's Json / Jsonb wrappers of JSON columns
    return wrapped is not None and type(value).__module__.startswith("psycopg") and _has_nul(wrapped)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session
