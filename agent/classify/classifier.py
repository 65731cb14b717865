"""``MessageClassifier``: category by a character n-gram logistic regression, emotion by the model
corrected by cue words, urgency by rules over category, cues and the resident's vulnerability.

Character n-grams need no word segmenter and tolerate the typos and homophones residents type
(暖器/暖气, 交/缴). The category probability is the confidence the agent escalates on; messages
with no Chinese, letters or digits to go on are ``other`` with low confidence. The model trains
from the bundled labelled file when first built (well under a second), so there is no binary
artefact to drift from its data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from agent.classify.rules import complaint_cue, emotion_cue, urgency_of
from tools.text import normalize

DATA = Path(__file__).parent / "data"
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
MAX_CHARS = 500
# Below this model confidence, an explicit complaint cue (投诉, 12345, 媒体) decides the category.
COMPLAINT_OVERRIDE = 0.5


@dataclass(frozen=True)
class Classification:
    category: str
    emotion: str
    urgency: str
    confidence: float
    emotion_confidence: float
    normalized: str
    urgency_reasons: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def load_examples(name: str = "train.jsonl") -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _pipeline(c: float) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LogisticRegression(C=c, max_iter=2000, class_weight="balanced"),
    )


class MessageClassifier:
    def __init__(self, examples: list[dict[str, Any]] | None = None, *, c: float = 8.0) -> None:
        self._examples = examples if examples is not None else load_examples()
        self._c = c

    @cached_property
    def _models(self) -> tuple[Any, Any]:
        texts = [normalize(example["text"]) for example in self._examples]
        category = _pipeline(self._c).fit(texts, [e["category"] for e in self._examples])
        emotion = _pipeline(self._c).fit(texts, [e["emotion"] for e in self._examples])
        return category, emotion

    def classify(self, text: str, *, vulnerable: bool = False) -> Classification:
        return self.classify_many([text], vulnerable=vulnerable)[0]

    def classify_many(self, texts: list[str], *, vulnerable: bool = False) -> list[Classification]:
        normalized = [normalize(text)[:MAX_CHARS] for text in texts]
        category_model, emotion_model = self._models
        category_probs = category_model.predict_proba(normalized)
        emotion_probs = emotion_model.predict_proba(normalized)
        results = []
        for text, cat_p, emo_p in zip(normalized, category_probs, emotion_probs, strict=True):
            scores = dict(zip(category_model.classes_, (float(p) for p in cat_p), strict=True))
            if not _CONTENT.search(text):
                results.append(Classification("other", "neutral", "low", 0.2, 0.5, text, [], scores))
                continue
            category = max(scores, key=scores.__getitem__)
            if scores[category] < COMPLAINT_OVERRIDE and complaint_cue(text):
                category = "complaint"
            emotions = dict(zip(emotion_model.classes_, (float(p) for p in emo_p), strict=True))
            emotion = emotion_cue(text) or max(emotions, key=emotions.__getitem__)
            urgency, reasons = urgency_of(text, category, vulnerable=vulnerable)
            results.append(
                Classification(
                    category=category,
                    emotion=emotion,
                    urgency=urgency,
                    confidence=round(scores[category], 4),
                    emotion_confidence=round(emotions.get(emotion, 1.0), 4),
                    normalized=text,
                    urgency_reasons=reasons,
                    scores=scores,
                )
            )
        return results


def make_classifier() -> MessageClassifier:
    return MessageClassifier()
