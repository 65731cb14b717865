"""The offline policy's first step of a turn: pick one act from labels, slots and history.

An act is either a tool call (with the arguments filled from slots) or a direct reply. The act's
name is written on the AIMessage (``additional_kwargs["policy_act"]``) so the next step — and
the next turn — know what was already tried (e.g. self-check steps were given once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.policy import signals
from agent.policy.signals import Slots
from tools.text import normalize

BIND_HINT = "办理这项业务需要先绑定您的户号：请提供10位户号和登记手机号的后四位。"


@dataclass
class Act:
    name: str
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    reply: str | None = None


@dataclass
class TurnView:
    """What the policy sees of a turn: the newest text, its labels, the conversation so far."""

    text: str
    category: str
    urgency: str
    emotion: str
    bound: bool
    resident_texts: list[str]
    previous_acts: list[str]
    available_tools: set[str]

    @property
    def plain(self) -> str:
        """The text the signal patterns read: simplified and half-width, so 怎麼繳 is 怎么缴."""
        return normalize(self.text)

    @property
    def slots(self) -> Slots:
        return signals.extract_slots(self.resident_texts[-8:])


# Device tips the bot gave, and the repair category a follow-up asking for a visit continues.
_TIPS = {"valve_tips": "valve", "equipment_noise_tips": "equipment_noise"}


def decide(view: TurnView) -> Act:
    text, category = view.plain, view.category
    if signals.GREETING.match(text.strip()):
        return Act(
            "greet",
            reply="您好，我是暖线小助手，可以帮您查询账单缴费、报修暖气问题、查看维修进度，请问有什么可以帮您？",
        )
    if category == "praise_suggestion" or (signals.THANKS.search(text) and category in ("other", "progress")):
        return Act("thank", reply="感谢您的认可和建议！我们会转达给相关师傅和部门，有需要随时找我。")
    # A reply to the bot's own question continues that thread whatever the classifier makes of it
    # ("单位抬头：XX公司" after asking for an invoice title; "屋里15度" after self-check steps).
    last_act = view.previous_acts[-1] if view.previous_acts else None
    if last_act == "invoice_ask_title" and view.slots.invoice_title:
        return _invoice(view)
    if last_act == "self_check" and category in ("other", "inquiry", "no_heat"):
        return _no_heat(view)
    # "还是拧不动，派师傅来吧" after valve tips reads as 进度 to the classifier ("师傅…来"), but
    # there is no ticket yet to follow: it asks for the visit the tips offered.
    if (
        last_act in _TIPS
        and category in ("progress", "other", "inquiry", _TIPS[last_act])
        and (signals.WANTS_VISIT.search(text) or signals.SELF_CHECK_FAILED.search(text))
    ):
        return _repair_ticket(view, _TIPS[last_act])
    handler = _HANDLERS.get(category, _knowledge)
    return handler(view)


def _needs_binding(view: TurnView, act: str) -> Act | None:
    return None if view.bound else Act(f"{act}_needs_binding", reply=BIND_HINT)


def _knowledge(view: TurnView, *, query: str | None = None, act: str = "kb_answer") -> Act:
    return Act(act, tool="search_knowledge", args={"query": query or view.text})


def _repair_ticket(view: TurnView, category: str, *, urgency: str | None = None) -> Act:
    blocked = _needs_binding(view, "repair")
    if blocked:
        if urgency == "emergency":
            blocked.reply = (
                "请立即关闭入户阀门（进水阀和回水阀），如有积水靠近插座请先断电，并拨打24小时热线报修。"
                + BIND_HINT
                + "绑定后我马上为您建紧急工单。"
            )
        return blocked
    slots = view.slots
    description = view.text if category != "no_heat" else f"{slots.symptom_text()}。住户原话：{view.text}"
    args: dict[str, Any] = {"category": category, "description": description[:500]}
    if urgency:
        args["urgency"] = urgency
    return Act("create_ticket", tool="create_repair_ticket", args=args)


def _no_heat(view: TurnView) -> Act:
    if signals.ASKS_WHY_STOPPED.search(view.plain) and not signals.WANTS_VISIT.search(view.plain):
        return _knowledge(view)  # a planned stoppage or notice answers this, not a self-check
    slots = view.slots
    gave_self_check = "self_check" in view.previous_acts
    urgent = view.urgency in ("emergency", "high")
    if (
        signals.WANTS_VISIT.search(view.plain)
        or (gave_self_check and signals.SELF_CHECK_FAILED.search(view.plain))
        or slots.building_wide
        or urgent
        or (slots.temperature is not None and slots.temperature < 12)
    ):
        return _repair_ticket(view, "no_heat", urgency=view.urgency if urgent else None)
    if gave_self_check and not slots.missing_no_heat():
        return _repair_ticket(view, "no_heat")
    query = {"top_hot": "上热下凉 放气", "floor": "地暖回水凉 地暖不热 自查"}.get(
        slots.scope or "", "暖气不热 自查"
    )
    return _knowledge(view, query=query, act="self_check")


def _leak(view: TurnView) -> Act:
    urgency = (
        "emergency" if view.urgency == "emergency" or signals.LEAK_NOW.search(view.plain) else view.urgency
    )
    return _repair_ticket(view, "leak", urgency=urgency if urgency in ("emergency", "high") else None)


def _device(category: str):
    def handle(view: TurnView) -> Act:
        if signals.WANTS_VISIT.search(view.plain) or f"{category}_tips" in view.previous_acts:
            return _repair_ticket(view, category)
        return _knowledge(view, act=f"{category}_tips")

    return handle


def _billing(view: TurnView) -> Act:
    text = view.plain
    if signals.ASKS_INVOICE.search(text):
        return _invoice(view)
    if signals.ASKS_HISTORY.search(text):
        return _needs_binding(view, "history") or Act("history", tool="get_payment_history")
    if signals.ASKS_HOW.search(text) and not signals.ASKS_BILL.search(text):
        return _knowledge(view, act="pay_howto")
    if signals.WANTS_PAY.search(text) and not signals.ASKS_BILL.search(text):
        return _needs_binding(view, "pay") or Act("pay", tool="create_payment_order")
    if view.bound:
        return Act("bills", tool="get_my_bills")
    if signals.OWN_HOME.search(text) and signals.ASKS_BILL.search(text):
        return Act("bills_needs_binding", reply=BIND_HINT)  # "我家还欠多少" needs the account, not tariffs
    return _knowledge(view, act="tariff_info")


def _invoice(view: TurnView) -> Act:
    blocked = _needs_binding(view, "invoice")
    if blocked:
        return blocked
    slots = view.slots
    if not slots.invoice_title:
        return Act(
            "invoice_ask_title",
            reply="好的，请问发票抬头开个人还是单位？单位请提供单位名称和税号，需要发到邮箱的话也请告诉我邮箱地址。",
        )
    season = _season_code(normalize(" ".join(view.resident_texts[-4:])))
    args: dict[str, Any] = {"season_code": season, "title": slots.invoice_title}
    if slots.tax_no:
        args["tax_no"] = slots.tax_no
    if slots.email:
        args["email"] = slots.email
    return Act("invoice", tool="request_invoice", args=args)


def _season_code(text: str) -> str:
    if re.search(r"去年|上(一)?个?采暖季|2025", text):
        return "2025-2026"
    return "2026-2027"


def _progress(view: TurnView) -> Act:
    blocked = _needs_binding(view, "progress")
    if blocked:
        return blocked
    args = {"ticket_no": view.slots.ticket_no} if view.slots.ticket_no else {}
    if signals.CANCEL.search(view.plain) and "cancel_my_ticket" in view.available_tools:
        return Act("cancel", tool="cancel_my_ticket", args=args)
    return Act("progress", tool="get_ticket_progress", args=args)


def _suspend(view: TurnView) -> Act:
    for pattern, act, tool in (
        (signals.APPLY_SUSPEND, "suspend_apply", "apply_suspension"),
        (signals.APPLY_RESUME, "resume_apply", "apply_resumption"),
    ):
        if pattern.search(view.plain) and tool in view.available_tools:
            return _needs_binding(view, act) or Act(act, tool=tool)
    return _knowledge(view, query=view.text, act="suspend_info")


def _account(view: TurnView) -> Act:
    return _knowledge(view, act="account_info")


_HANDLERS = {
    "no_heat": _no_heat,
    "leak": _leak,
    "valve": _device("valve"),
    "equipment_noise": _device("equipment_noise"),
    "billing": _billing,
    "suspend": _suspend,
    "progress": _progress,
    "account": _account,
    "inquiry": _knowledge,
    "complaint": _knowledge,
    "other": _knowledge,
}
