"""Quality-inspection (质检) rules as pure functions over a conversation's messages.

Each rule returns a ``RuleResult`` with points out of its weight and the evidence a supervisor
needs (which message, how long, which phrase). Weights add up to 100. Some findings are serious
enough to flag the conversation whatever the total: a forbidden phrase, a resident's phone or ID
number written into a reply, a resident who ended angrier than they started, a reply that took
more than ``SLOW_REPLY_S``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

FORBIDDEN_PHRASES = (
    "不知道",
    "不归我们管",
    "不关我们的事",
    "你自己看",
    "你自己查",
    "爱找谁找谁",
    "没办法",
    "我也没办法",
    "这不是我们的问题",
    "你听不懂吗",
    "跟我说没用",
    "随便你",
    "投诉也没用",
    "等着吧",
)
EMPATHY = re.compile(
    r"理解您|明白您|抱歉|对不起|不好意思|让您久等|给您添麻烦|别着急|不要着急|请放心|您放心|辛苦您|"
    r"着急|心情|马上为您|尽快为您|立即为您|体谅"
)
ACCEPTED = re.compile(r"谢谢|感谢|好的|明白了|知道了|清楚了|解决了|可以了|行了|热了|没问题|ok", re.I)
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
UPSET = frozenset({"anxious", "dissatisfied", "angry"})
_EMOTION_RANK = {"satisfied": 0, "neutral": 1, "anxious": 2, "dissatisfied": 3, "angry": 4}

WEIGHTS = {
    "first_response": 15,
    "response_delay": 15,
    "empathy": 15,
    "resolution": 20,
    "forbidden_phrases": 15,
    "personal_data": 10,
    "emotion_trajectory": 10,
}
FAST_FIRST_S = 30.0
OK_FIRST_S = 120.0
FAST_REPLY_S = 60.0
SLOW_REPLY_S = 300.0
PASS_SCORE = 60


@dataclass(frozen=True)
class Turn:
    sender: str  # resident | bot | agent | system
    text: str
    at: datetime
    emotion: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the conversation led to, looked up by the service."""

    ticket_created: bool = False
    repeat_contact: bool = False  # the same account came back within the repeat window


@dataclass
class RuleResult:
    rule: str
    points: float
    weight: int
    detail: str
    flag: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["points"] = round(self.points, 1)
        return data


def _replies(turns: list[Turn]) -> list[Turn]:
    return [t for t in turns if t.sender in ("bot", "agent")]


def response_gaps(turns: list[Turn]) -> list[tuple[int, float]]:
    """(index of the resident message that opened a wait, seconds until the next reply)."""
    gaps: list[tuple[int, float]] = []
    waiting: int | None = None
    for index, turn in enumerate(turns):
        if turn.sender == "resident" and waiting is None:
            waiting = index
        elif turn.sender in ("bot", "agent") and waiting is not None:
            gaps.append((waiting, (turn.at - turns[waiting].at).total_seconds()))
            waiting = None
    return gaps


def first_response(turns: list[Turn]) -> tuple[RuleResult, float | None]:
    weight = WEIGHTS["first_response"]
    gaps = response_gaps(turns)
    if not gaps:
        flag = "no_reply" if any(t.sender == "resident" for t in turns) else None
        return RuleResult(
            "first_response", 0 if flag else weight, weight, "无回复" if flag else "无住户消息", flag
        ), None
    seconds = gaps[0][1]
    if seconds <= FAST_FIRST_S:
        points = weight
    elif seconds <= OK_FIRST_S:
        points = weight * 0.6
    elif seconds <= SLOW_REPLY_S:
        points = weight * 0.3
    else:
        points = 0
    flag = "slow_first_response" if seconds > SLOW_REPLY_S else None
    return RuleResult("first_response", points, weight, f"首次响应 {seconds:.0f} 秒", flag), seconds


def response_delay(turns: list[Turn]) -> RuleResult:
    weight = WEIGHTS["response_delay"]
    gaps = response_gaps(turns)
    if not gaps:
        return RuleResult("response_delay", weight, weight, "无需回复")
    fast = sum(1 for _, seconds in gaps if seconds <= FAST_REPLY_S)
    slow = [(index, seconds) for index, seconds in gaps if seconds > SLOW_REPLY_S]
    worst = max(seconds for _, seconds in gaps)
    return RuleResult(
        "response_delay",
        weight * fast / len(gaps),
        weight,
        f"{fast}/{len(gaps)} 次在 {FAST_REPLY_S:.0f} 秒内回复，最长 {worst:.0f} 秒",
        "slow_reply" if slow else None,
        [{"message": index, "seconds": round(seconds)} for index, seconds in slow],
    )


def empathy(turns: list[Turn]) -> RuleResult:
    weight = WEIGHTS["empathy"]
    upset = [i for i, t in enumerate(turns) if t.sender == "resident" and t.emotion in UPSET]
    if not upset:
        return RuleResult("empathy", weight, weight, "住户情绪平稳，不适用")
    missed = []
    for index in upset:
        reply = next((t for t in turns[index + 1 :] if t.sender in ("bot", "agent")), None)
        if reply is None or not EMPATHY.search(reply.text):
            missed.append({"message": index, "emotion": turns[index].emotion})
    shown = len(upset) - len(missed)
    return RuleResult(
        "empathy",
        weight * shown / len(upset),
        weight,
        f"住户情绪激动 {len(upset)} 次，安抚 {shown} 次",
        "no_empathy" if missed and shown == 0 else None,
        missed,
    )


def resolution(turns: list[Turn], facts: Facts) -> RuleResult:
    weight = WEIGHTS["resolution"]
    residents = [t for t in turns if t.sender == "resident"]
    accepted = bool(residents) and bool(ACCEPTED.search(residents[-1].text))
    reasons = []
    points = 0.0
    if facts.ticket_created:
        reasons.append("已建工单")
    if accepted:
        reasons.append("住户认可答复")
    if facts.ticket_created or accepted:
        points = weight * 0.6
    if facts.repeat_contact:
        reasons.append("期间再次来访")
    else:
        points += weight * 0.4
    flag = "unresolved_repeat" if facts.repeat_contact and not (facts.ticket_created or accepted) else None
    return RuleResult("resolution", points, weight, "、".join(reasons) or "未见解决迹象", flag)


def forbidden_phrases(turns: list[Turn]) -> RuleResult:
    weight = WEIGHTS["forbidden_phrases"]
    hits = [
        {"message": index, "sender": turn.sender, "phrase": phrase}
        for index, turn in enumerate(turns)
        if turn.sender in ("bot", "agent")
        for phrase in FORBIDDEN_PHRASES
        if phrase in turn.text
    ]
    if not hits:
        return RuleResult("forbidden_phrases", weight, weight, "未发现服务禁语")
    phrases = "、".join(sorted({hit["phrase"] for hit in hits}))
    return RuleResult("forbidden_phrases", 0, weight, f"服务禁语：{phrases}", "forbidden_phrase", hits)


def personal_data(turns: list[Turn]) -> RuleResult:
    weight = WEIGHTS["personal_data"]
    hits = []
    for index, turn in enumerate(turns):
        if turn.sender not in ("bot", "agent"):
            continue
        if MOBILE.search(turn.text):
            hits.append({"message": index, "sender": turn.sender, "kind": "phone"})
        if ID_CARD.search(turn.text):
            hits.append({"message": index, "sender": turn.sender, "kind": "id_card"})
    if not hits:
        return RuleResult("personal_data", weight, weight, "回复中无完整手机号/身份证号")
    kinds = "、".join(sorted({"手机号" if h["kind"] == "phone" else "身份证号" for h in hits}))
    return RuleResult("personal_data", 0, weight, f"回复中暴露了{kinds}", "personal_data_exposed", hits)


def emotion_trajectory(turns: list[Turn]) -> tuple[RuleResult, str | None, str | None]:
    weight = WEIGHTS["emotion_trajectory"]
    emotions = [t.emotion for t in turns if t.sender == "resident" and t.emotion]
    if not emotions:
        return RuleResult("emotion_trajectory", weight, weight, "无情绪标签"), None, None
    start, end = emotions[0], emotions[-1]
    delta = _EMOTION_RANK.get(end, 1) - _EMOTION_RANK.get(start, 1)
    if delta < 0 or end == "satisfied":
        points, word = weight, "好转"
    elif delta == 0:
        points, word = weight * (0.6 if end in UPSET else 0.8), "持平"
    else:
        points, word = 0, "恶化"
    flag = "ended_angry" if end == "angry" else ("emotion_worse" if delta > 0 else None)
    return RuleResult("emotion_trajectory", points, weight, f"{start} → {end}（{word}）", flag), start, end


@dataclass
class Scorecard:
    score: int
    flagged: bool
    flags: list[str]
    rules: list[RuleResult]
    first_response_s: float | None
    emotion_start: str | None
    emotion_end: str | None


def score_conversation(turns: list[Turn], facts: Facts) -> Scorecard:
    first, first_s = first_response(turns)
    trajectory, start, end = emotion_trajectory(turns)
    rules = [
        first,
        response_delay(turns),
        empathy(turns),
        resolution(turns, facts),
        forbidden_phrases(turns),
        personal_data(turns),
        trajectory,
    ]
    total = round(sum(rule.points for rule in rules))
    flags = [rule.flag for rule in rules if rule.flag]
    if total < PASS_SCORE:
        flags.append("low_score")
    return Scorecard(total, bool(flags), flags, rules, first_s, start, end)


def handler_of(turns: list[Turn]) -> tuple[str, str | None]:
    """The agent who wrote most human replies, else the bot."""
    counts: dict[str, int] = {}
    for turn in _replies(turns):
        if turn.sender == "agent" and turn.staff_id:
            counts[turn.staff_id] = counts.get(turn.staff_id, 0) + 1
    if not counts:
        return "bot", None
    return "agent", max(counts, key=counts.__getitem__)
