"""Back-office users: agents, supervisors, admins and repair workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, TimestampMixin, UTCDateTime
from tools.labels import ROLES, sql_in


class StaffUser(IdMixin, TimestampMixin, Base):
    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(f"role IN {sql_in(ROLES)}", name="role"),)

    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    worker_id: Mapped[str | None] = mapped_column(ForeignKey("workers.id"), unique=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
