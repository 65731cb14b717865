"""Validators for the identifiers and values residents' records carry (shared by imports and APIs)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator

MOBILE = re.compile(r"^1[3-9]\d{9}$")
ACCOUNT_NO = re.compile(r"^\d{10}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YES = {"是", "yes", "y", "true", "1", "有"}
_NO = {"否", "no", "n", "false", "0", "无"}


def id_card_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of an 18-character resident ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def valid_id_card(value: str) -> bool:
    value = value.upper()
    return bool(re.fullmatch(r"\d{17}[\dX]", value)) and id_card_check_digit(value[:17]) == value[17]


def mobile(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not MOBILE.match(digits):
        raise ValueError(f"格式不正确：{value}（应为 11 位手机号）")
    return digits


def id_card(value: str) -> str:
    if not valid_id_card(value):
        raise ValueError("格式或校验位不正确")
    return value.upper()


def account_no(value: str) -> str:
    if not ACCOUNT_NO.match(value):
        raise ValueError(f"应为 10 位数字：{value}")
    return value


def decimal_places(
    value: str | Decimal,
    *,
    places: int = 2,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    positive: bool = False,
) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise ValueError(f"不是有效数字：{value}") from None
    if not amount.is_finite():
        raise ValueError(f"不是有效数字：{value}")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"最多 {places} 位小数：{value}")
    if positive and amount <= 0:
        raise ValueError(f"必须大于 0：{value}")
    if minimum is not None and amount < minimum:
        raise ValueError(f"不能小于 {minimum}：{value}")
    if maximum is not None and amount > maximum:
        raise ValueError(f"不能大于 {maximum}：{value}")
    return amount.quantize(Decimal(1).scaleb(-places))


def yes_no(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError(f"应为 是/否：{value}")


def split_list(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        return value
    return [part.strip() for part in re.split(r"[|、,，;；]", value) if part.strip()]


def _iso_date_only(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("日期格式应为 YYYY-MM-DD")


# A calendar date as the OpenAPI ``format: date`` promises: ``YYYY-MM-DD`` only. Pydantic alone also
# takes ``0`` (a Unix timestamp, 1970-01-01) or a midnight datetime, so a wrong client goes unnoticed.
IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


def _json_int(value: object) -> object:
    if isinstance(value, bool | str | bytes):
        raise ValueError("应为整数")
    return value


# An integer as JSON Schema means it: 5 or 5.0, but not "5" or true (pydantic's lax mode takes both,
# and strict mode would refuse 5.0, which the schema allows).
JsonInt = Annotated[int, BeforeValidator(_json_int)]


# "Not blank" as a JSON Schema pattern that means the same in every engine that reads it: ECMA (the
# schema's dialect, used by clients and fuzzers), Python's re and pydantic's Rust regex. ``\S`` does
# not: Python counts \x1c-\x1f and \x85 as space and ECMA counts \ufeff, so the server's strip()
# and the schema disagreed (schemathesis found "\x1c"). A text passes if it has a character outside
# the union of both whitespace sets, which str.strip() then keeps.
NOT_BLANK = "[^\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
