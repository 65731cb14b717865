"""A keyword-rule classifier: the baseline the trained model has to beat in ``warmline eval classify``.

It is what a support team writes on day one — the first matching keyword list wins — so the
figures beside it show what the statistical model and its cue rules are worth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.classify.rules import urgency_of
from tools.text import normalize

# Order matters: the first pattern that matches decides the category.
CATEGORY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("complaint", re.compile(r"投诉|12345|曝光|乱收费|态度差|市长热线")),
    ("leak", re.compile(r"漏|渗水|爆|跑水|滴水|喷水|淹")),
    ("progress", re.compile(r"师傅.*(来|到)|进度|工单|派单|催")),
    ("suspend", re.compile(r"报停|停暖|停供|恢复供|开通")),
    ("billing", re.compile(r"暖气费|采暖费|取暖费|缴费|交费|欠费|发票|账单|多少钱")),
    ("account", re.compile(r"过户|户名|户号|手机号|更名|绑定")),
    ("valve", re.compile(r"阀")),
    ("equipment_noise", re.compile(r"响|声音|噪音|嗡|异响")),
    ("no_heat", re.compile(r"不热|冷|凉|温度低|度")),
    ("praise_suggestion", re.compile(r"谢谢|感谢|表扬|点赞|建议|辛苦")),
    ("inquiry", re.compile(r"什么时候|几号|时间|标准|营业厅|电话|怎么")),
)
EMOTION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("angry", re.compile(r"投诉|12345|骗|垃圾|破公司|什么玩意|！！")),
    ("satisfied", re.compile(r"谢谢|感谢|点赞|好评|辛苦")),
    ("anxious", re.compile(r"急|快|怎么办|咋办")),
    ("dissatisfied", re.compile(r"还不|没人|一直|不热|冷")),
)


@dataclass(frozen=True)
class KeywordResult:
    category: str
    emotion: str
    urgency: str
    confidence: float = 1.0


class KeywordClassifier:
    def classify(self, text: str, *, vulnerable: bool = False) -> KeywordResult:
        normalized = normalize(text)
        category = next((name for name, rule in CATEGORY_RULES if rule.search(normalized)), "other")
        emotion = next((name for name, rule in EMOTION_RULES if rule.search(normalized)), "neutral")
        urgency, _ = urgency_of(normalized, category, vulnerable=vulnerable)
        return KeywordResult(category, emotion, urgency)

    def classify_many(self, texts: list[str], *, vulnerable: bool = False) -> list[KeywordResult]:
        return [self.classify(text, vulnerable=vulnerable) for text in texts]
