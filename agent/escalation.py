"""When the bot must hand a conversation to a human, as pure rules over the conversation state.

Residents who are cold and angry should not argue with a bot. The rules, in order:
an explicit request (转人工/人工客服), a complaint, an emergency (after the emergency ticket is made),
anger that persists over two messages, the bot failing to help twice in a row (handed off with the
second failed answer, not after a third question), and the classifier being unsure twice in a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.state import TurnLabels

HUMAN_REQUEST = re.compile(
    r"(转|找|要|接)?人工|真人|客服人员|找(你们)?(领导|主管|经理)|别(跟我)?(用|让)?机器人"
)
LOW_CONFIDENCE = 0.45
MAX_FAILURES = 2


def wants_human(text: str) -> bool:
    return bool(HUMAN_REQUEST.search(text))


def escalation_before_answer(
    text: str, labels: Sequence[TurnLabels], *, failures: int, low_confidence: int
) -> str | None:
    """A reason to hand off instead of answering this message, or None to let the bot answer."""
    if wants_human(text):
        return "住户要求转人工"
    latest = labels[-1] if labels else None
    if latest and latest["category"] == "complaint":
        return "住户投诉"
    if len(labels) >= 2 and all(item["emotion"] == "angry" for item in labels[-2:]):
        return "住户持续愤怒"
    if failures >= MAX_FAILURES:
        return "机器人连续两次未能解决"
    if low_confidence >= 2:
        return "连续两次未能理解住户意图"
    return None


def escalation_after_answer(labels: Sequence[TurnLabels], *, failures: int = 0) -> str | None:
    """Emergencies get their ticket and safety advice from the bot first, then a human; a second
    answer in a row that did not help goes to a human at once (``failures`` counts this turn)."""
    if labels and labels[-1]["urgency"] == "emergency":
        return "紧急情况，已建紧急工单"
    if failures >= MAX_FAILURES:
        return "机器人连续两次未能解决"
    return None


def emotion_trend(labels: Sequence[TurnLabels]) -> str:
    names = {
        "satisfied": "满意",
        "neutral": "平静",
        "anxious": "焦急",
        "dissatisfied": "不满",
        "angry": "愤怒",
    }
    trail: list[str] = []
    for item in labels[-5:]:
        name = names.get(item["emotion"], item["emotion"])
        if not trail or trail[-1] != name:
            trail.append(name)
    return "→".join(trail) or "未知"
