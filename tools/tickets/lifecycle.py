"""The repair ticket state machine, as a table. Residents read these states like parcel tracking.

已受理 → 已派工 → 师傅已出发 → 已到场 → 已完成 → 已回访 → 已关闭
已受理 / 已派工 / 师傅已出发 → 已取消
已完成 / 已回访 / 已关闭 → 已受理   (reopen, e.g. after a bad survey)
"""

from __future__ import annotations

from tools.errors import Conflict

TRANSITIONS: dict[str, frozenset[str]] = {
    "已受理": frozenset({"已派工", "已取消"}),
    "已派工": frozenset({"师傅已出发", "已取消", "已受理"}),
    "师傅已出发": frozenset({"已到场", "已取消"}),
    "已到场": frozenset({"已完成"}),
    "已完成": frozenset({"已回访", "已受理"}),
    "已回访": frozenset({"已关闭", "已受理"}),
    "已关闭": frozenset({"已受理"}),
    "已取消": frozenset(),
}
OPEN_STATES = frozenset({"已受理", "已派工", "师傅已出发", "已到场"})


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"工单当前状态为“{current}”，不能变更为“{target}”", code="illegal_transition")


def is_reopen(current: str, target: str) -> bool:
    return target == "已受理" and current in ("已完成", "已回访", "已关闭")
