"""Cue rules for emotion and urgency: the words that decide them when they are present.

The statistical model learns the common cases; these cues make the cases that matter most
reliable — an emergency must never be missed, anger that threatens 12345 or the media must
never read as neutral, and sarcasm (“行吧，给个好评，反正也没人管”) must not read as praise.
Each urgency decision carries its reasons for the agent's view.
"""

from __future__ import annotations

import re

from tools.text import temperatures

ANGRY = re.compile(
    r"投诉|12345|市长热线|媒体|电视台|曝光|骗|垃圾|破公司|凭什么|什么玩意|欺负|踢皮球|态度(太)?(差|恶劣)"
    r"|骂人|滚|tmd|他妈|艹|要不要人活|还管不管|干啥吃的|叫你们领导|😡|🤬"
)
SATISFIED = re.compile(r"谢谢|感谢|谢了|点赞|好评|辛苦了|满意|很好|给力|表扬|真好|舒服|太专业|thank")
# Praise words in a sentence that also carries a complaint: sarcasm, never satisfaction.
SARCASM = re.compile(
    r"行吧|呵呵|反正(也)?(没人|不)|真(是)?(节能|感谢你们)|省了.{0,6}钱|🙃|🙄|😅|😒"
    r"|(好评|点赞).{0,8}(不可能|没人|才怪)|继续等|等着呗"
)
ANXIOUS = re.compile(r"急|快来|快点|怎么办|咋办|救命|吓|要掉|赶紧|求求|😰|😭")
DISSATISFIED = re.compile(
    r"还不|怎么还|咋还|一直没|等了|没人|太差|没动静|人呢|不管|不够|受不了|冻死|又(漏|凉|不热|坏)"
)
COMPLAINT = re.compile(r"投诉|12345|媒体|曝光|乱收费|态度(太)?(差|恶劣)|什么玩意|修不好|没修好|市长热线")
SHOUTING = re.compile(r"[!！]{2,}")

EMERGENCY = re.compile(
    r"爆管|爆了|爆裂|炸了|崩开|跑(大)?水|水淹|淹了|淹到|喷水|发大水|水漫|全是水|没过脚"
    r"|(流|漏)到楼(下|道)|到楼下(邻居)?家|天花板.{0,4}(滴|漏|流)|漏(得|的)?(很)?厉害|漏电"
    r"|burst|flood|water everywhere"
)
VULNERABLE = re.compile(
    r"老人|老伴|独居|一个人住|[七八九]十(多)?岁?了?|老太太|老爷子|老父亲|老母亲|婴儿|宝宝|孩子|月子|孕"
    r"|病人|瘫痪|手术|腿脚不好|感冒|发烧|满月|个月大"
)
COLD = re.compile(r"冷|冻|凉|不热|度")
LONG_COLD = re.compile(r"全屋|整栋|全楼|全家|单元都|楼都|一天一夜|[两三四五几]天|一周|一礼拜|好几天|冰窖")


def complaint_cue(text: str) -> bool:
    return bool(COMPLAINT.search(text))


def emotion_cue(text: str, modelled: str = "neutral") -> str | None:
    """The emotion a cue decides, or None to keep the model's; the model's reading breaks ties."""
    if ANGRY.search(text) or (SHOUTING.search(text) and DISSATISFIED.search(text)):
        return "dissatisfied" if modelled == "dissatisfied" and not SHOUTING.search(text) else "angry"
    if SARCASM.search(text):
        return "angry" if modelled == "angry" else "dissatisfied"
    if SATISFIED.search(text) and not DISSATISFIED.search(text):
        return "satisfied"
    if modelled != "neutral":
        return None
    if ANXIOUS.search(text):
        return "anxious"
    if DISSATISFIED.search(text):
        return "dissatisfied"
    return None


def indoor_temperature(text: str) -> int | None:
    return next((value for value in temperatures(text) if 0 <= value <= 30), None)


def urgency_of(text: str, category: str, *, vulnerable: bool) -> tuple[str, list[str]]:
    reasons: list[str] = []
    if EMERGENCY.search(text) and category not in ("inquiry", "praise_suggestion"):
        # Any category: a burst pipe reported inside a complaint is still a burst pipe.
        return "emergency", ["爆管/跑水/水淹"]
    temperature = indoor_temperature(text)
    if category == "no_heat":
        at_risk = vulnerable or bool(VULNERABLE.search(text))
        if at_risk and (COLD.search(text) or temperature is not None):
            reasons.append("老人/婴幼儿等受冻" if not vulnerable else "重点关注住户，室温过低")
            if temperature is None or temperature <= 14:
                return "emergency", reasons
            return "high", reasons
        if temperature is not None and temperature <= 12:
            return "high", [f"室温仅{temperature}℃"]
        if LONG_COLD.search(text):
            return "high", ["全屋或长时间不热"]
        return "normal", reasons
    if category == "leak":
        return "high", ["漏水需尽快处理"]
    if category in ("valve", "equipment_noise", "progress", "complaint"):
        return "normal", reasons
    return "low", reasons
