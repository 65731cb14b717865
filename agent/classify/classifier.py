"""``MessageClassifier``: category and emotion by a trained linear model, corrected by cue rules;
urgency by rules over category, cues and the resident's vulnerability.

Which model runs: ``make_classifier(data_dir)`` loads the model ``warmline train classifier``
saved under ``data_dir/classifier/`` (retrained with back-office label corrections, promoted only
when it is not worse on the held-out split); without one it trains from the bundled labelled file
on first use (a few seconds), so the shipped model never drifts from its data. Messages with no
Chinese, letters or digits are ``other`` with low confidence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from agent.classify.model import TrainedModel
from agent.classify.rules import complaint_cue, emotion_cue, urgency_of
from tools.text import normalize

DATA = Path(__file__).parent / "data"
ACTIVE_MODEL = Path("classifier") / "model.pkl"
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "emotion": self.emotion,
            "urgency": self.urgency,
            "confidence": self.confidence,
            "emotion_confidence": self.emotion_confidence,
            "urgency_reasons": list(self.urgency_reasons),
        }


def load_examples(name: str = "train.jsonl", directory: Path = DATA) -> list[dict[str, Any]]:
    with (directory / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def train_model(examples: list[dict[str, Any]]) -> TrainedModel:
    texts = [normalize(example["text"])[:MAX_CHARS] for example in examples]
    return TrainedModel.fit(texts, [e["category"] for e in examples], [e["emotion"] for e in examples])


class MessageClassifier:
    def __init__(
        self, examples: list[dict[str, Any]] | None = None, *, model: TrainedModel | None = None
    ) -> None:
        self._examples = examples
        self._given = model

    @cached_property
    def model(self) -> TrainedModel:
        return self._given or train_model(self._examples if self._examples is not None else load_examples())

    def classify(self, text: str, *, vulnerable: bool = False) -> Classification:
        return self.classify_many([text], vulnerable=vulnerable)[0]

    def classify_many(self, texts: list[str], *, vulnerable: bool = False) -> list[Classification]:
        normalized = [normalize(text)[:MAX_CHARS] for text in texts]
        category_probs, emotion_probs = self.model.predict(normalized)
        return [
            _decide(text, scores, emotions, vulnerable=vulnerable)
            for text, scores, emotions in zip(normalized, category_probs, emotion_probs, strict=True)
        ]


def _decide(
    text: str, scores: dict[str, float], emotions: dict[str, float], *, vulnerable: bool
) -> Classification:
    if not _CONTENT.search(text):
        return Classification("other", "neutral", "low", 0.2, 0.5, text, [], scores)
    category = max(scores, key=scores.__getitem__)
    if scores[category] < COMPLAINT_OVERRIDE and complaint_cue(text):
        category = "complaint"
    modelled = max(emotions, key=emotions.__getitem__)
    emotion = emotion_cue(text, modelled) or modelled
    urgency, reasons = urgency_of(text, category, vulnerable=vulnerable)
    return Classification(
        category=category,
        emotion=emotion,
        urgency=urgency,
        confidence=round(scores[category], 4),
        emotion_confidence=round(emotions.get(emotion, 1.0), 4),
        normalized=text,
        urgency_reasons=reasons,
        scores=scores,
    )


def make_classifier(data_dir: Path | None = None) -> MessageClassifier:
    """The active model under ``data_dir`` when one was trained and promoted, else the bundled one."""
    model = TrainedModel.load(data_dir / ACTIVE_MODEL) if data_dir is not None else None
    return MessageClassifier(model=model)
