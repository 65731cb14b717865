"""Masking of personal data (PIPL): phone numbers, ID card numbers and detailed addresses.

Used by every log line (see ``tools.logging``), every agent/back-office view that shows a
resident, and every export. Structured fields are masked by their meaning; free text is masked by
pattern, which is what the log processor and conversation transcripts need.
"""

from __future__ import annotations

import re
from typing import Any

# A number glued to an escape (repr'd bytes ``\x81139…``, JSON ``\u7801139…``) is still a number.
_AFTER_ESCAPE = r"(?<=\\x[0-9a-fA-F]{2})|(?<=\\u[0-9a-fA-F]{4})"
# Residents write 13912345678, 139 1234 5678, 139-1234-5678, +86 139…, 86139…: all are the same number.
_PHONE = re.compile(
    rf"(?:(?<!\d)|{_AFTER_ESCAPE})((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{{4}})[ -]?(\d{{4}})(?!\d)"
)
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")
_ID_CARD = re.compile(
    rf"(?:(?<![0-9A-Za-z])|{_AFTER_ESCAPE})(\d{{6}})(\d{{8}})(\d{{3}}[\dXx])(?![0-9A-Za-z])"
)
# 3号楼2单元501室 / 3栋2单元501 / 3号楼501室: keep the building, hide unit and room.
_UNIT_ROOM = re.compile(r"(\d+)\s*(单元)\s*(\d+)\s*(室|号|户)?")
_ROOM_ONLY = re.compile(r"(号楼|栋|幢)\s*(\d{3,4})\s*(室|号|户)")
_DASHED = re.compile(r"(?<![\d-])(\d{1,3})-(\d{1,2})-(\d{3,4})(?![\d-])")


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_id_card(id_no: str | None) -> str:
    if not id_no:
        return ""
    if len(id_no) < 8:
        return "*" * len(id_no)
    return f"{id_no[:3]}{'*' * (len(id_no) - 7)}{id_no[-4:]}"


def mask_name(name: str | None) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: agents address a resident by surname."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def mask_address(address: str | None) -> str:
    """Keep the 小区 and building (needed to spot building-wide faults), hide unit and room."""
    if not address:
        return ""
    masked = _UNIT_ROOM.sub(lambda m: "*单元***" + (m.group(4) or ""), address)
    masked = _ROOM_ONLY.sub(lambda m: f"{m.group(1)}***{m.group(3)}", masked)
    return _DASHED.sub(lambda m: f"{m.group(1)}-*-***", masked)


def mask_text(text: str) -> str:
    """Mask every phone number, ID card number and unit/room in free text."""
    if not text:
        return text
    text = _ID_CARD.sub(lambda m: f"{m.group(1)[:3]}{'*' * 11}{m.group(3)[-4:]}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return mask_address(text)


def mask_value(value: Any) -> Any:
    """Mask strings inside nested dicts/lists/tuples; other values pass through."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(item) for item in value)
    return value
