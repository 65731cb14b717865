"""One row per correction a staff member made to a resident message's labels.

The message itself is updated too (views show the corrected labels); this table keeps who changed
what and when, with the labels as corrected, so retraining can use every correction made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tools.db import Base, IdMixin, UTCDateTime
from tools.labels import CATEGORIES, EMOTIONS, URGENCIES, sql_in


class LabelCorrection(IdMixin, Base):
    __tablename__ = "label_corrections"
    __table_args__ = (
        CheckConstraint(f"category IN {sql_in(CATEGORIES)}", name="category"),
        CheckConstraint(f"emotion IN {sql_in(EMOTIONS)}", name="emotion"),
        CheckConstraint(f"urgency IN {sql_in(URGENCIES)}", name="urgency"),
    )

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    category: Mapped[str] = mapped_column(String(24))
    emotion: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(12))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
