"""Repair workers and their assignments."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, JSONType, TimestampMixin, UTCDateTime


class Worker(IdMixin, TimestampMixin, Base):
    __tablename__ = "workers"

    code: Mapped[str] = mapped_column(String(20), unique=True)  # 工号
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20))
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)  # repair categories
    district: Mapped[str] = mapped_column(String(40), index=True)
    home_lat: Mapped[float] = mapped_column(Float)
    home_lon: Mapped[float] = mapped_column(Float)
    shift_start: Mapped[time] = mapped_column(Time, default=time(8, 0))
    shift_end: Mapped[time] = mapped_column(Time, default=time(18, 0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    praise_count: Mapped[int] = mapped_column(Integer, default=0)


class Assignment(IdMixin, TimestampMixin, Base):
    __tablename__ = "assignments"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="assigned", index=True)
    sequence: Mapped[int | None] = mapped_column(Integer)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
