"""CRM views. ``AccountMasked`` is what agents and logs see by default (PIPL)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from tools.crm.models import Account
from tools.masking import mask_address, mask_name, mask_phone


class AccountMasked(BaseModel):
    account_id: str
    account_no: str
    name: str
    phone: str
    address: str
    community: str
    building: str
    district: str
    heated_area: Decimal
    kind: str
    status: str
    tags: list[str]

    @classmethod
    def of(cls, account: Account) -> AccountMasked:
        resident = account.resident
        return cls(
            account_id=account.id,
            account_no=account.account_no,
            name=mask_name(resident.name),
            phone=mask_phone(resident.phone),
            address=mask_address(account.address),
            community=account.building.community.name,
            building=account.building.number,
            district=account.building.community.district,
            heated_area=account.heated_area,
            kind=account.kind,
            status=account.status,
            tags=list(resident.tags or []),
        )


class AccountPage(BaseModel):
    total: int
    items: list[AccountMasked]
