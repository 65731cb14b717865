"""The heating company itself: its tariffs and its season calendar.

Every money rule reads its dates and rates from a ``HeatingSeason`` row, so a company changes its
discount deadline or late-fee rate by editing data, not code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tools.db import Base, IdMixin, JSONType, Money, Rate, TimestampMixin
from tools.labels import ACCOUNT_KINDS, sql_in


class Company(IdMixin, TimestampMixin, Base):
    __tablename__ = "companies"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(40))
    hotline: Mapped[str] = mapped_column(String(40))
    # Payment channels, service halls, repair promises: shown to residents, read by the agent.
    profile: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    seasons: Mapped[list[HeatingSeason]] = relationship(
        back_populates="company", order_by="HeatingSeason.starts_on", lazy="selectin"
    )


class HeatingSeason(IdMixin, TimestampMixin, Base):
    __tablename__ = "heating_seasons"
    __table_args__ = (
        UniqueConstraint("company_id", "code"),
        CheckConstraint("ends_on > starts_on", name="dates_ordered"),
    )

    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))  # "2026-2027"
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    discount_deadline: Mapped[date | None] = mapped_column(Date)
    discount_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0"))
    pay_deadline: Mapped[date] = mapped_column(Date)
    late_fee_daily_rate: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0"))
    late_fee_cap_ratio: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("1"))
    suspend_apply_deadline: Mapped[date | None] = mapped_column(Date)
    suspend_fee_ratio: Mapped[Decimal] = mapped_column(Rate(), default=Decimal("0.3"))

    company: Mapped[Company] = relationship(back_populates="seasons")
    tariffs: Mapped[list[Tariff]] = relationship(back_populates="season", lazy="selectin")

    def tariff_for(self, kind: str) -> Tariff:
        for tariff in self.tariffs:
            if tariff.account_kind == kind:
                return tariff
        raise LookupError(f"season {self.code} has no tariff for {kind}")


class Tariff(IdMixin, Base):
    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("season_id", "account_kind"),
        CheckConstraint(f"account_kind IN {sql_in(ACCOUNT_KINDS)}", name="kind"),
        CheckConstraint("unit_price > 0", name="positive_price"),
    )

    season_id: Mapped[str] = mapped_column(ForeignKey("heating_seasons.id"), index=True)
    account_kind: Mapped[str] = mapped_column(String(20))
    unit_price: Mapped[Decimal] = mapped_column(Money())  # 元 per ㎡ of heated area per season

    season: Mapped[HeatingSeason] = relationship(back_populates="tariffs")
