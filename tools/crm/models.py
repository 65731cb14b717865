"""Residents, their accounts (户号) and where they live (小区/楼/单元/室).

A ``Resident`` is a person; an ``Account`` is a heated unit with its own 户号 that a resident holds.
``ChannelIdentity`` maps one chat identity (a WeChat openid, a web visitor) to an account once the
resident has proved who they are; the tools take identity only from there.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tools.db import Base, Fixed, IdMixin, JSONType, TimestampMixin, UTCDateTime
from tools.labels import ACCOUNT_KINDS, sql_in

RESIDENT_TAGS = ("独居老人", "婴幼儿家庭", "行动不便", "频繁投诉", "孕妇", "重点关注")
VULNERABLE_TAGS = frozenset({"独居老人", "婴幼儿家庭", "行动不便", "孕妇"})
ACCOUNT_STATUSES = ("active", "suspended", "closed")


class Community(IdMixin, Base):
    __tablename__ = "communities"

    name: Mapped[str] = mapped_column(String(60), unique=True)
    district: Mapped[str] = mapped_column(String(40), index=True)
    address: Mapped[str] = mapped_column(String(120), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    buildings: Mapped[list[Building]] = relationship(back_populates="community")


class Building(IdMixin, Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("community_id", "number"),)

    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))  # "3号楼"
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    community: Mapped[Community] = relationship(back_populates="buildings", lazy="joined")

    @property
    def label(self) -> str:
        return f"{self.community.name}{self.number}"


class Resident(IdMixin, TimestampMixin, Base):
    __tablename__ = "residents"

    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    id_card_no: Mapped[str | None] = mapped_column(String(18))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    temperature_pref: Mapped[int | None] = mapped_column(Integer)
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")

    accounts: Mapped[list[Account]] = relationship(back_populates="resident")

    @property
    def is_vulnerable(self) -> bool:
        return bool(VULNERABLE_TAGS.intersection(self.tags or []))


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("building_id", "unit", "room"),
        CheckConstraint(f"kind IN {sql_in(ACCOUNT_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {sql_in(ACCOUNT_STATUSES)}", name="status"),
        CheckConstraint("heated_area > 0", name="positive_area"),
    )

    account_no: Mapped[str] = mapped_column(String(20), unique=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    unit: Mapped[str] = mapped_column(String(10))
    room: Mapped[str] = mapped_column(String(10))
    heated_area: Mapped[Decimal] = mapped_column(Fixed(2))  # ㎡
    kind: Mapped[str] = mapped_column(String(20), default="residential")
    status: Mapped[str] = mapped_column(String(20), default="active")
    opened_on: Mapped[date | None] = mapped_column(Date)

    resident: Mapped[Resident] = relationship(back_populates="accounts", lazy="joined")
    building: Mapped[Building] = relationship(lazy="joined")

    @property
    def address(self) -> str:
        return f"{self.building.label}{self.unit}单元{self.room}室"


class ChannelIdentity(IdMixin, TimestampMixin, Base):
    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BindingAttempt(IdMixin, Base):
    """Every try to bind a chat identity to an account, kept to rate-limit guessing.

    Limits count failures both per identity and per account number: a visitor can open many web
    sessions, but the 10,000 possible last-four digits of one account must not be walkable.
    """

    __tablename__ = "binding_attempts"

    identity_id: Mapped[str] = mapped_column(ForeignKey("channel_identities.id"), index=True)
    account_no: Mapped[str] = mapped_column(String(20), index=True)
    success: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
