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
    "啥意思": "什么意思",
    "啥": "什么",
    "罚款": "滞纳金",
    "罚钱": "滞纳金",
    "代交": "代收",
    "工行": "工商银行",
    "建行": "建设银行",
    "礼拜": "周",
    "星期": "周",
    "办事": "办理",
    "多长时间": "多久",
    "晾衣服": "晾晒 衣服",
    "截至": "截止",
    "咋": "怎么",
    "多少钱一平": "每平方米 价格",
    "手机号码": "手机号",
    "电话号码": "电话",
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
    "派工",
    "已派工",
]
# Colloquial phrases that carry no topic; jieba tags some as idioms (l), which would count as foreign.
# 号码 is a noun but names no topic of its own ("改登记的号码" is about 手机号).
PLAIN_PHRASES = frozenset("怎么回事 对不上 什么意思 为什么 怎么办 不一样 没问题 不管用 号码".split())
# Words of jieba's general dictionary that residents' phrasing only produces by accident:
# "晚交会不会有滞纳金" is 晚交 / 会不会, never 交会 (a crossing), which would count as foreign.
SPLIT_WORDS = ("交会",)
# Single tokens folded after segmentation, where a text fold would break words: the bare verb 交 is
# 缴 (交通, 提交 stay whole words), and 在哪 / 去哪儿 ask the same as the documents' 哪里.
TOKEN_FOLDS = {"交": "缴", "哪": "哪里", "哪儿": "哪里"}
STOPWORDS = frozenset(
    [
        *"的 了 吗 呢 啊 吧 呀 嘛 我 你 您 我们 是 在 有 和 就 都 也 还 要 想 请问 一下 个 这 那".split(),
        *"，。？！、：；（）()?!,.~～ ",
    ]
)
# Slips of pinyin input (a near-homophone picked from the candidate list), fixed before either side
# sees the query: e5 reads "暧气" as a different word from "暖气".
TYPOS = {"暧气": "暖气", "报亭": "报停", "发漂": "发票", "采暖废": "采暖费", "暖汽": "暖气", "地援": "地暖"}
# Parts of speech that name a thing: an unknown one (absent from every chunk) suggests the question
# is about something the knowledge base does not cover (燃气, 物业费, 宽带). Idioms (l, i) count
# only when their own parts are unknown too (分期付款 yes, 拧不动 no).
THING_TAGS = frozenset({"n", "nr", "nz", "ns", "nt", "l", "i", "eng"})
_TYPO_PATTERN = re.compile("|".join(sorted(map(re.escape, TYPOS), key=len, reverse=True)))
_SYNONYM_PATTERN = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=2000)
    for word in SPLIT_WORDS:
        jieba.del_word(word)
    return jieba


def clean(text: str) -> str:
    """Normalised (half-width, simplified) with input slips fixed: the form both sides search with."""
    return _TYPO_PATTERN.sub(lambda m: TYPOS[m.group(0)], normalize(text))


def _fold(text: str) -> str:
    return _SYNONYM_PATTERN.sub(lambda m: SYNONYMS[m.group(0)], clean(text))


def tokenize(text: str) -> list[str]:
    return [
        TOKEN_FOLDS.get(token, token)
        for token in _jieba().lcut_for_search(_fold(text))
        if token.strip() and token not in STOPWORDS
    ]


def foreign_terms(query: str, vocabulary: set[str] | frozenset[str]) -> list[str]:
    """Words naming things no chunk mentions (``vocabulary`` is every indexed token). Only
    dictionary words count: jieba's HMM glues unknown runs of characters into guesses (晚交会),
    which say nothing about the topic."""
    from jieba import posseg

    _jieba()
    found = []
    for pair in posseg.lcut(_fold(query), HMM=False):
        word, tag = pair.word, pair.flag
        if len(word) < 2 or word in vocabulary or word in STOPWORDS or word in PLAIN_PHRASES:
            continue
        if tag not in THING_TAGS or word.replace(".", "").isdigit():  # without HMM, numbers tag as eng
            continue
        if tag in ("l", "i"):
            parts = [part for part in _jieba().lcut_for_search(word) if len(part) >= 2 and part != word]
            if parts and all(part in vocabulary for part in parts):
                continue
        found.append(word)
    return found


class BM25Index:
    """BM25 over pre-tokenised chunks; scoring is bm25s' sparse matrix, so a query costs the postings of
    its terms, not a pass over every chunk in Python. ``mask`` applies the caller's filters (scope,
    validity) before ranking, so filtered-out chunks never take a top-n slot."""

    def __init__(self, ids: list[str], corpus: list[list[str]]) -> None:
        import bm25s

        self.ids = ids
        self._retriever = bm25s.BM25()
        if ids:
            self._retriever.index([tokens or ["∅"] for tokens in corpus], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, tokens: list[str], *, n: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(position, score) of the best n chunks with a positive score, best first."""
        if not tokens or not self.ids:
            return []
        values = np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            values = np.where(mask, values, 0.0)
        positive = np.flatnonzero(values > 0)
        if len(positive) > n:
            positive = positive[np.argpartition(-values[positive], n - 1)[:n]]
        order = positive[np.argsort(-values[positive], kind="stable")]
        return [(int(i), float(values[i])) for i in order]

    def scores(self, query: str) -> dict[str, float]:
        """Every positively scored chunk by id (diagnostics and tests; search uses ``top``)."""
        return {self.ids[i]: score for i, score in self.top(tokenize(query), n=len(self.ids))}
