"""Retraining from staff corrections, with a promotion gate.

``retrain`` fits a candidate on the bundled training file plus every back-office label correction
(a correction of a message that is also a training line replaces that line), scores it and the
active model on the held-out split, and saves the candidate as the active model under
``data_dir/classifier/`` only when it is not worse on any gate: category accuracy, emotion
macro-F1 (each within half a point) and emergency recall (no tolerance). The held-out split is
never trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.classify.classifier import (
    ACTIVE_MODEL,
    MessageClassifier,
    load_examples,
    make_classifier,
    train_model,
)
from tools.labels import EMOTIONS
from tools.text import normalize

GATES = ("category_accuracy", "emotion_macro_f1", "emergency_recall")
# How far a score may dip and still count as "not worse": under one held-out message (1/366 ≈
# 0.0027) of accuracy, so a correction that moves one borderline message is not refused.
# Emergency recall has no tolerance: a model that misses one more emergency is never promoted.
TOLERANCE = {"category_accuracy": 0.005, "emotion_macro_f1": 0.005, "emergency_recall": 0.0}


@dataclass
class TrainReport:
    examples: int
    corrections: int
    before: dict[str, float]
    after: dict[str, float]
    promoted: bool
    path: Path
    worse: list[str] = field(default_factory=list)


def held_out_scores(classifier: MessageClassifier, examples: list[dict[str, Any]]) -> dict[str, float]:
    results = classifier.classify_many([example["text"] for example in examples])
    n = max(len(examples), 1)
    f1s = []
    for label in EMOTIONS:
        tp = sum(r.emotion == label == e["emotion"] for r, e in zip(results, examples, strict=True))
        predicted = sum(r.emotion == label for r in results)
        support = sum(e["emotion"] == label for e in examples)
        if support:
            precision = tp / predicted if predicted else 0.0
            recall = tp / support
            f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    emergencies = [r for r, e in zip(results, examples, strict=True) if e["urgency"] == "emergency"]
    return {
        "category_accuracy": round(
            sum(r.category == e["category"] for r, e in zip(results, examples, strict=True)) / n, 4
        ),
        "emotion_macro_f1": round(sum(f1s) / max(len(f1s), 1), 4),
        "urgency_accuracy": round(
            sum(r.urgency == e["urgency"] for r, e in zip(results, examples, strict=True)) / n, 4
        ),
        "emergency_recall": round(
            sum(r.urgency == "emergency" for r in emergencies) / max(len(emergencies), 1), 4
        ),
    }


def merge_corrections(train: list[dict[str, Any]], corrections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    corrected = {normalize(c["text"]): c for c in corrections}
    return [e for e in train if normalize(e["text"]) not in corrected] + list(corrected.values())


def retrain(
    data_dir: Path,
    corrections: list[dict[str, Any]],
    *,
    force: bool = False,
    current: MessageClassifier | None = None,
) -> TrainReport:
    """``current`` is the active model when the caller already has it loaded (saves a training)."""
    held_out = load_examples("test.jsonl")
    examples = merge_corrections(load_examples(), corrections)
    before = held_out_scores(current or make_classifier(data_dir), held_out)
    candidate = train_model(examples)
    after = held_out_scores(MessageClassifier(model=candidate), held_out)
    worse = [gate for gate in GATES if after[gate] < before[gate] - TOLERANCE[gate]]
    path = data_dir / ACTIVE_MODEL
    promoted = force or not worse
    if promoted:
        candidate.save(path)
    return TrainReport(len(examples), len(corrections), before, after, promoted, path, worse)
