"""Lexical retrieval: jieba words with the heating domain's synonyms folded together, then BM25.

Residents write 暖气费 where documents say 采暖费, 交 where they say 缴, 地热 for 地暖: folding
these to one form before indexing lets BM25 match what embeddings sometimes miss (exact figures,
place names like 锦绣花园, terms like 报停).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from tools.text import normalize

# Variants → one indexed form. Longer variants first so 暖气费 folds before 暖气.
SYNONYMS = {
    "暖气费": "采暖费",
    "取暖费": "采暖费",
    "供暖费": "采暖费",
    "热费": "采暖费",
    "交费": "缴费",
    "交钱": "缴费",
    "付费": "缴费",
    "地热": "地暖",
    "不热乎": "不热",
    "不暖和": "不热",
    "冰凉": "不热",
    "停供": "报停",
    "停暖": "报停",
    "复供": "恢复供暖",
    "开栓": "恢复供暖",
    "账号": "户号",
    "户口号": "户号",
    "暖气片": "散热器",
    "暖气包": "散热器",
    "跑水": "漏水",
    "渗水": "漏水",
    "滴水": "漏水",
    "爆管": "漏水 爆管",
    "更名": "过户",
    "改名": "过户",
    "啥时候": "什么时候",
    "咋": "怎么",
    "多少钱一平": "每平方米 价格",
    "一平": "每平方米",
    "平米": "平方米",
}
DOMAIN_WORDS = [
    "采暖费",
    "缴费",
    "报停",
    "户号",
    "散热器",
    "放气阀",
    "入户阀门",
    "分水器",
    "滞纳金",
    "测温",
    "过户",
    "恢复供暖",
    "试压",
    "营业厅",
    "上热下凉",
    "回水",
    "锦绣花园",
    "阳光小区",
    "幸福里",
    "和平家园",
    "滨河湾",
    "翠湖苑",
    "空置费",
    "电子发票",
]
STOPWORDS = frozenset(
    [
        *"的 了 吗 呢 啊 吧 呀 嘛 我 你 您 我们 是 在 有 和 就 都 也 还 要 想 请问 一下 个 这 那".split(),
        *"，。？！、：；（）()?!,.~～ ",
    ]
)
_SYNONYM_PATTERN = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=2000)
    return jieba


def tokenize(text: str) -> list[str]:
    folded = _SYNONYM_PATTERN.sub(lambda m: SYNONYMS[m.group(0)], normalize(text))
    return [token for token in _jieba().lcut_for_search(folded) if token.strip() and token not in STOPWORDS]


class BM25Index:
    """An in-memory BM25 over chunk texts; rebuilt when the knowledge base changes (small and fast)."""

    def __init__(self, ids: list[str], texts: list[str]) -> None:
        import bm25s

        self.ids = ids
        self._retriever = bm25s.BM25()
        corpus = [tokenize(text) or ["∅"] for text in texts]
        self._retriever.index(corpus, show_progress=False) if ids else None
        self._size = len(ids)

    def scores(self, query: str) -> dict[str, float]:
        tokens = tokenize(query)
        if not tokens or not self._size:
            return {}
        values = np.asarray(self._retriever.get_scores(tokens))
        return {self.ids[i]: float(values[i]) for i in np.flatnonzero(values > 0)}
