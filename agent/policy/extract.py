"""Extractive answers: the offline policy answers only with sentences found in retrieved passages.

Nothing is generated, so no number can be invented: prices, dates and deadlines in an answer are
exactly those of the passage it cites. Sentences are scored by character-bigram overlap with
the question, which needs no segmenter and copes with colloquial wording and typos.
"""

from __future__ import annotations

import re
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_STEP = re.compile(r"^\s*(\d+[.、)]|[一二三四五六七八九十]+[、.]|第[一二三四五六七八九十\d]+步|[-*•])\s*")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    clean = _NOISE.sub("", text)
    return {clean[i : i + 2] for i in range(len(clean) - 1)} or ({clean} if clean else set())


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def steps_of(text: str, *, limit: int = 7) -> list[str]:
    """Numbered or bulleted lines of a passage, for self-check guides."""
    lines = [line.strip() for line in text.splitlines()]
    steps = [_STEP.sub("", line) for line in lines if _STEP.match(line)]
    return [step for step in steps if step][:limit]


def best_sentences(question: str, text: str, *, limit: int = 3, max_chars: int = 240) -> str:
    sentences = [s for s in split_sentences(text) if not s.startswith("#")]
    if not sentences:
        return ""
    wanted = bigrams(question)
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-len(wanted & bigrams(sentences[i])), i),
    )
    chosen = sorted(scored[:limit])
    # A sentence that introduces a list ("…缴费渠道：") is answered by the list, not by what the
    # bigram scores happen to pick next: take its items in order.
    lead = next((i for i in chosen if sentences[i].rstrip().endswith(("：", ":"))), None)
    if lead is not None:
        items = [i for i in range(lead + 1, len(sentences)) if _STEP.match(sentences[i])]
        run = [i for n, i in enumerate(items) if i == lead + 1 + n]
        if run:
            chosen = [lead, *run]
    answer = ""
    for index in chosen:
        sentence = sentences[index].lstrip("#").strip()
        if len(answer) + len(sentence) > max_chars and answer:
            break
        answer += sentence if sentence[-1:] in "。！？；!?;：:" else sentence + "。"
    return answer


def cite(passages: list[dict[str, Any]]) -> str:
    titles = list(dict.fromkeys(p["title"] for p in passages if p.get("title")))[:2]
    return "（参考：" + "、".join(f"《{t}》" for t in titles) + "）" if titles else ""
