"""Normalisation for matching: full-width → half-width, traditional → simplified, squeezed repeats.

Shared by the classifier and the knowledge base so both see residents' text the same way. The
original text is always kept for display and storage; this form is only for matching.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_REPEATS = re.compile(r"([!?！？。~～.])\1{2,}")
_SPACES = re.compile(r"\s+")


@cache
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC

    return OpenCC("t2s")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = _t2s().convert(text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip().lower()


_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
TEMPERATURE = re.compile(r"([零一二两三四五六七八九十\d]{1,3})\s*(度|℃|°C|°)")


def chinese_number(text: str) -> int | None:
    """Small numbers as residents type them: 14, 十四, 二十, 二十二."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_DIGITS.get(tens, 0) if tens else 1) * 10 + _DIGITS.get(ones, 0)
    return _DIGITS.get(text)


def temperatures(text: str) -> list[int]:
    """Plausible indoor/outdoor temperatures mentioned in a message ("屋里才十四度" → [14])."""
    found = []
    for match in TEMPERATURE.finditer(text):
        value = chinese_number(match.group(1))
        if value is not None and -30 <= value <= 40:
            found.append(value)
    return found
