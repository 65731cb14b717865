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
