"""Resident/account rows: one row is one 户号 with its holder and its place (小区/楼/单元/室)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools import validators
from tools.clock import Clock
from tools.crm.models import RESIDENT_TAGS, Account, Building, Community, Resident
from tools.importing import Importer, RowError

_KINDS = {
    "居民": "residential",
    "residential": "residential",
    "非居民": "non_residential",
    "non_residential": "non_residential",
}
_STATUSES = {
    "正常": "active",
    "active": "active",
    "报停": "suspended",
    "suspended": "suspended",
    "销户": "closed",
    "closed": "closed",
}


class ResidentRow(BaseModel):
    account_no: str
    name: str
    phone: str
    id_card_no: str | None = None
    community: str
    district: str | None = None
    building: str
    unit: str
    room: str
    heated_area: Decimal
    kind: str
    status: str = "active"
    tags: list[str] = []
    lat: float | None = None
    lon: float | None = None

    _account = field_validator("account_no")(lambda cls, v: validators.account_no(v))
    _phone = field_validator("phone")(lambda cls, v: validators.mobile(v))
    _id = field_validator("id_card_no")(lambda cls, v: validators.id_card(v) if v else None)

    @field_validator("name", "community")
    @classmethod
    def _short_text(cls, value: str) -> str:
        if len(value) > 60:
            raise ValueError("过长（最多 60 字）")
        return value

    @field_validator("building")
    @classmethod
    def _building(cls, value: str) -> str:
        if value.isdigit():
            return f"{int(value)}号楼"
        if not re.fullmatch(r"\d{1,3}(号楼|栋|幢|号)", value):
            raise ValueError(f"应为“3号楼”这样的楼号：{value}")
        return value

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        value = value.removesuffix("单元")
        if not re.fullmatch(r"\d{1,2}", value):
            raise ValueError(f"应为 1-2 位数字：{value}")
        return str(int(value))

    @field_validator("room")
    @classmethod
    def _room(cls, value: str) -> str:
        value = value.removesuffix("室")
        if not re.fullmatch(r"\d{3,4}", value):
            raise ValueError(f"应为 3-4 位数字：{value}")
        return value

    @field_validator("heated_area", mode="before")
    @classmethod
    def _area(cls, value: Any) -> Decimal:
        return validators.decimal_places(value, positive=True, maximum=Decimal("10000"))

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in _KINDS:
            raise ValueError(f"应为 居民/非居民：{value}")
        return _KINDS[value]

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in _STATUSES:
            raise ValueError(f"应为 正常/报停/销户：{value}")
        return _STATUSES[value]

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        tags = validators.split_list(value)
        unknown = [tag for tag in tags if tag not in RESIDENT_TAGS]
        if unknown:
            raise ValueError(f"未知标签：{'、'.join(unknown)}（可用：{'、'.join(RESIDENT_TAGS)}）")
        return tags

    @field_validator("lat")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        if value is not None and not 18 <= value <= 54:
            raise ValueError("纬度超出范围")
        return value

    @field_validator("lon")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        if value is not None and not 73 <= value <= 135:
            raise ValueError("经度超出范围")
        return value


async def _check(session: AsyncSession, rows: list[tuple[int, ResidentRow]]) -> list[RowError]:
    errors: list[RowError] = []
    communities = {c.name: c for c in await session.scalars(select(Community))}
    places: dict[tuple[str, str, str, str], int] = {}
    existing = {
        (b.community.name, b.number, a.unit, a.room): a.account_no
        for a, b in (await session.execute(select(Account, Building).join(Building))).all()
    }
    new_districts: dict[str, str] = {}
    for line, row in rows:
        community = communities.get(row.community)
        district = community.district if community else new_districts.get(row.community)
        if district is None:
            if not row.district:
                errors.append(RowError(line, f"小区“{row.community}”不存在，新建小区需要填写区（district）"))
                continue
            new_districts[row.community] = row.district
        elif row.district and row.district != district:
            errors.append(RowError(line, f"小区“{row.community}”属于{district}，不是{row.district}"))
        place = (row.community, row.building, row.unit, row.room)
        if place in places:
            errors.append(RowError(line, f"房屋与第 {places[place]} 行相同：{''.join(place)}"))
        places[place] = line
        holder = existing.get(place)
        if holder is not None and holder != row.account_no:
            errors.append(RowError(line, f"该房屋已登记在户号 {holder} 名下"))
    return errors


async def _write(session: AsyncSession, rows: list[ResidentRow], clock: Clock) -> tuple[int, int]:
    communities = {c.name: c for c in await session.scalars(select(Community))}
    buildings = {(b.community_id, b.number): b for b in await session.scalars(select(Building))}
    accounts = {a.account_no: a for a in await session.scalars(select(Account))}
    people = {(r.name, r.phone): r for r in await session.scalars(select(Resident))}
    created = updated = 0
    for row in rows:
        community = communities.get(row.community)
        if community is None:
            community = Community(name=row.community, district=row.district or "")
            session.add(community)
            await session.flush()
            communities[row.community] = community
        building = buildings.get((community.id, row.building))
        if building is None:
            building = Building(community_id=community.id, number=row.building, lat=row.lat, lon=row.lon)
            session.add(building)
            await session.flush()
            buildings[(community.id, row.building)] = building
        elif row.lat is not None and row.lon is not None:
            building.lat, building.lon = row.lat, row.lon
        account = accounts.get(row.account_no)
        person = account.resident if account else people.get((row.name, row.phone))
        if person is None:
            person = Resident(name=row.name, phone=row.phone)
            session.add(person)
            people[(row.name, row.phone)] = person
        person.name, person.phone, person.tags = row.name, row.phone, row.tags
        if row.id_card_no:
            person.id_card_no = row.id_card_no
        values = {
            "building_id": building.id,
            "unit": row.unit,
            "room": row.room,
            "heated_area": row.heated_area,
            "kind": row.kind,
            "status": row.status,
        }
        if account is None:
            account = Account(account_no=row.account_no, resident=person, **values)
            session.add(account)
            accounts[row.account_no] = account
            created += 1
        else:
            for key, value in values.items():
                setattr(account, key, value)
            account.resident = person
            updated += 1
    await session.flush()
    return created, updated


RESIDENTS = Importer(
    required=frozenset(
        {"account_no", "name", "phone", "community", "building", "unit", "room", "heated_area", "kind"}
    ),
    optional=frozenset({"id_card_no", "district", "status", "tags", "lat", "lon"}),
    row_model=ResidentRow,
    key=lambda row: (row.account_no,),
    check=_check,
    write=_write,
)
