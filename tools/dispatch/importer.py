"""Worker rows: 工号, skills from the repair categories (Chinese names accepted), home and shift."""

from __future__ import annotations

from datetime import time
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools import validators
from tools.clock import Clock
from tools.dispatch.models import Worker
from tools.importing import Importer, RowError
from tools.labels import REPAIR_CATEGORIES

_SKILL_NAMES = {
    "暖气不热": "no_heat",
    "漏水": "leak",
    "阀门": "valve",
    "异响": "equipment_noise",
    "报停": "suspend",
}


class WorkerRow(BaseModel):
    code: str
    name: str
    phone: str
    skills: list[str]
    district: str
    home_lat: float
    home_lon: float
    shift_start: time = time(8, 0)
    shift_end: time = time(18, 0)
    active: bool = True

    _phone = field_validator("phone")(lambda cls, v: validators.mobile(v))
    _active = field_validator("active", mode="before")(lambda cls, v: validators.yes_no(v))

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.isascii() or not value.isalnum() or len(value) > 20:
            raise ValueError(f"应为字母和数字（最多 20 位）：{value}")
        return value.upper()

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, value: Any) -> list[str]:
        skills = [_SKILL_NAMES.get(skill, skill) for skill in validators.split_list(value)]
        unknown = [skill for skill in skills if skill not in REPAIR_CATEGORIES]
        if unknown or not skills:
            raise ValueError(f"未知技能：{'、'.join(unknown) or '空'}（可用：{'、'.join(_SKILL_NAMES)}）")
        return list(dict.fromkeys(skills))

    @field_validator("home_lat")
    @classmethod
    def _lat(cls, value: float) -> float:
        if not 18 <= value <= 54:
            raise ValueError("纬度超出范围")
        return value

    @field_validator("home_lon")
    @classmethod
    def _lon(cls, value: float) -> float:
        if not 73 <= value <= 135:
            raise ValueError("经度超出范围")
        return value

    @model_validator(mode="after")
    def _shift(self) -> WorkerRow:
        if self.shift_start >= self.shift_end:
            raise ValueError("上班时间应早于下班时间")
        return self


async def _check(session: AsyncSession, rows: list[tuple[int, WorkerRow]]) -> list[RowError]:
    return []


async def _write(session: AsyncSession, rows: list[WorkerRow], clock: Clock) -> tuple[int, int]:
    workers = {w.code: w for w in await session.scalars(select(Worker))}
    created = updated = 0
    for row in rows:
        values = row.model_dump()
        worker = workers.get(row.code)
        if worker is None:
            session.add(Worker(**values))
            created += 1
        else:
            for key, value in values.items():
                setattr(worker, key, value)
            updated += 1
    await session.flush()
    return created, updated


WORKERS = Importer(
    required=frozenset({"code", "name", "phone", "skills", "district", "home_lat", "home_lon"}),
    optional=frozenset({"shift_start", "shift_end", "active"}),
    row_model=WorkerRow,
    key=lambda row: (row.code,),
    check=_check,
    write=_write,
)
