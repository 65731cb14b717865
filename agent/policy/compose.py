"""The offline policy's closing step: turn this turn's tool results into a reply.

Replies are assembled from tool results and retrieved passages only: every figure a resident
reads (amount, ticket number, time window, deadline) is copied from a tool result or a cited
passage. When the knowledge base is not confident, the reply says so and offers a human, and
the message is marked ``unanswered`` so the graph counts the failure.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from agent.policy.extract import best_sentences, cite, steps_of
from agent.policy.signals import Slots

UNSURE = "这个问题我暂时没有找到确切的答案。您可以换个说法再问一次，或回复“转人工”，由客服为您解答。"
SAFETY = (
    "请您先：①关闭入户阀门（进水阀和回水阀都要关）；②如有积水靠近插座或电器，先断开电源；"
    "③把贵重物品、电器移到高处；④有条件可以拍照留存。"
)
OFFER_REPAIR = "如果按以上步骤处理后还是不热，回复“报修”，我马上为您安排师傅上门。"


def data_of(message: ToolMessage) -> Any:
    if message.artifact is not None:
        return message.artifact
    content = message.content
    if isinstance(content, str):
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            return content
    return content


def compose(act: str, results: list[ToolMessage], *, question: str, slots: Slots, urgency: str) -> AIMessage:
    errors = [str(r.content).removeprefix("错误：") for r in results if r.status == "error"]
    if errors:
        return AIMessage(
            f"抱歉，{errors[0]}", additional_kwargs={"policy_act": f"{act}_failed", "unanswered": True}
        )
    data = data_of(results[-1]) if results else None
    if act in _KB_ACTS or (results and results[-1].name == "search_knowledge"):
        return _knowledge(act, data, question=question, slots=slots)
    if act == "create_ticket":
        return _done(act, _ticket_created(data, emergency=urgency == "emergency"))
    return _done(act, render(data))


def _done(act: str, text: str) -> AIMessage:
    return AIMessage(text, additional_kwargs={"policy_act": act})


def _knowledge(act: str, data: Any, *, question: str, slots: Slots) -> AIMessage:
    passages = (data or {}).get("passages", []) if isinstance(data, dict) else []
    confident = bool(isinstance(data, dict) and data.get("confident")) and passages
    if not confident:
        if act == "self_check":
            text = (
                "请先确认入户阀门是否全部打开、暖气片是否需要放气。"
                + " ".join(slots.missing_no_heat())
                + OFFER_REPAIR
            )
            return AIMessage(text, additional_kwargs={"policy_act": act})
        return AIMessage(UNSURE, additional_kwargs={"policy_act": act, "unanswered": True})
    top = passages[0]
    guide = next((p for p in passages if steps_of(p.get("text", ""))), None) if act == "self_check" else None
    if guide is not None:
        steps = steps_of(guide["text"])
        body = "您可以先按这几步自查：\n" + "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
        top = guide
    elif top.get("kind") == "faq" and top.get("answer"):
        body = top["answer"]
    else:
        body = best_sentences(question, top.get("text", "")) or top.get("text", "")[:200]
    text = body + cite([top])
    if act == "self_check":
        questions = slots.missing_no_heat()
        text += (
            ("\n为了更快帮您判断，请告诉我：" + "".join(questions) if questions else "") + "\n" + OFFER_REPAIR
        )
    return AIMessage(text, additional_kwargs={"policy_act": act})


def _ticket_created(data: Any, *, emergency: bool) -> str:
    ticket = data.get("ticket", data) if isinstance(data, dict) else {}
    if not isinstance(ticket, dict):
        return render(data)
    number = ticket.get("ticket_no", "")
    if data.get("duplicate") or ticket.get("duplicate"):
        head = f"您之前的报修工单 {number} 还在处理中，这次的情况我已补充到该工单，师傅会一并处理。"
    elif emergency:
        head = f"已为您创建紧急抢修工单 {number}，抢修师傅会尽快赶到。{SAFETY}"
    else:
        head = f"已为您创建报修工单 {number}。"
    details = [
        str(ticket[key])
        for key in ("eta_text", "sla_text", "message")
        if isinstance(ticket.get(key), str) and ticket.get(key)
    ]
    return head + ("" if not details else details[0]) + " 您可以随时问我“维修进度”查看师傅动态。"


_KB_ACTS = {
    "kb_answer",
    "self_check",
    "pay_howto",
    "tariff_info",
    "suspend_info",
    "account_info",
    "valve_tips",
    "equipment_noise_tips",
}


def render(data: Any) -> str:
    """Any tool result as readable Chinese: its own message when it has one, else its fields."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("reply", "message", "summary", "text"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
        return "；".join(f"{key}：{_flat(value)}" for key, value in data.items() if not key.endswith("_id"))
    if isinstance(data, list):
        return "\n".join(render(item) for item in data[:10]) or "没有查到相关记录。"
    return str(data)


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "，".join(f"{k}{_flat(v)}" for k, v in value.items() if not k.endswith("_id"))
    if isinstance(value, list):
        return "；".join(_flat(v) for v in value[:8])
    return str(value)
