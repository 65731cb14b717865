"""Repair workers and their assignments."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, Time
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


# assigned → accepted → departed → arrived → done; reassigned / cancelled end it early.
ASSIGNMENT_ACTIVE = ("assigned", "accepted", "departed", "arrived")
ASSIGNMENT_STATUSES = (*ASSIGNMENT_ACTIVE, "done", "reassigned", "cancelled")


class Assignment(IdMixin, TimestampMixin, Base):
    """One worker's visit for one ticket; ``sequence`` and ``planned_*`` come from the route planner."""

    __tablename__ = "assignments"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="assigned", index=True)
    sequence: Mapped[int | None] = mapped_column(Integer)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    plan_method: Mapped[str | None] = mapped_column(String(16))  # ortools | greedy
