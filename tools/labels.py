"""The label sets fixed by DESIGN.md. Evaluators compare these exact strings."""

from __future__ import annotations

from typing import Literal, get_args

Category = Literal[
    "no_heat",
    "leak",
    "valve",
    "equipment_noise",
    "billing",
    "suspend",
    "inquiry",
    "progress",
    "complaint",
    "praise_suggestion",
    "account",
    "other",
]
Emotion = Literal["satisfied", "neutral", "anxious", "dissatisfied", "angry"]
Urgency = Literal["emergency", "high", "normal", "low"]
Role = Literal["agent", "supervisor", "admin", "worker"]
AccountKind = Literal["residential", "non_residential"]

CATEGORIES: tuple[str, ...] = get_args(Category)
EMOTIONS: tuple[str, ...] = get_args(Emotion)
URGENCIES: tuple[str, ...] = get_args(Urgency)
ROLES: tuple[str, ...] = get_args(Role)
ACCOUNT_KINDS: tuple[str, ...] = get_args(AccountKind)

# Repair categories a worker can hold as a skill.
REPAIR_CATEGORIES: tuple[str, ...] = ("no_heat", "leak", "valve", "equipment_noise", "suspend")

CATEGORY_NAMES_ZH = {
    "no_heat": "暖气不热",
    "leak": "漏水",
    "valve": "阀门问题",
    "equipment_noise": "异响/设备问题",
    "billing": "缴费账单",
    "suspend": "报停/开通",
    "inquiry": "咨询",
    "progress": "进度查询",
    "complaint": "投诉",
    "praise_suggestion": "表扬建议",
    "account": "户号信息",
    "other": "其他",
}
URGENCY_NAMES_ZH = {"emergency": "紧急", "high": "高", "normal": "普通", "low": "低"}
ACCOUNT_KIND_NAMES_ZH = {"residential": "居民", "non_residential": "非居民"}


def sql_in(values: tuple[str, ...]) -> str:
    """A CHECK constraint body listing allowed values."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"
