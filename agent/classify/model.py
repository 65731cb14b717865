"""The trained part of the classifier: shared text features and two linear heads.

Features are character 1–4-grams (no segmenter needed; they tolerate the typos and homophones
residents type, 暖器/暖气, 交/缴) joined with jieba words (they separate 报停 from 停暖通知). One
feature space feeds both heads, so a message is vectorised once per turn. The category head is a
class-weighted linear SVM, and so is the emotion head. Their scores become probabilities by a
softmax whose temperature is fitted on 3-fold out-of-fold scores (minimum log-loss): temperature
scaling keeps the SVM's argmax, and the category probability is the confidence the agent
escalates on. Training takes a few seconds on one core.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1


def jieba_words(text: str) -> list[str]:
    """Module-level so the fitted vectoriser pickles."""
    import jieba

    return [word for word in jieba.lcut(text, HMM=False) if word.strip()]


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    return make_union(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True, dtype=np.float32),
        TfidfVectorizer(analyzer=jieba_words, sublinear_tf=True, dtype=np.float32),
    )


def _softmax(scores: Any, temperature: float) -> Any:
    scaled = temperature * (scores - scores.max(axis=1, keepdims=True))
    probabilities = np.exp(scaled)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def _fit_head(matrix: Any, labels: list[str]) -> tuple[Any, float]:
    """A class-weighted linear SVM and the softmax temperature that calibrates its scores."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import LinearSVC

    def head() -> Any:
        return LinearSVC(C=1.0, class_weight="balanced", random_state=0)

    y = np.asarray(labels)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    out_of_fold = cross_val_predict(head(), matrix, y, cv=folds, method="decision_function")
    classes = np.unique(y)
    truth = np.searchsorted(classes, y)
    best = min(
        (float(t) for t in np.geomspace(0.5, 20, 40)),
        key=lambda t: -np.log(_softmax(out_of_fold, t)[np.arange(len(y)), truth] + 1e-12).mean(),
    )
    return head().fit(matrix, y), best


def _probabilities(classes: list[str], scores: Any, temperature: float) -> dict[str, float]:
    exp = np.exp(temperature * (scores - scores.max()))
    return dict(zip(classes, (exp / exp.sum()).tolist(), strict=True))


@dataclass
class TrainedModel:
    features: Any
    category: Any
    emotion: Any
    n_examples: int
    category_temperature: float = 1.0
    emotion_temperature: float = 1.0

    @classmethod
    def fit(cls, texts: list[str], categories: list[str], emotions: list[str]) -> TrainedModel:
        import jieba

        jieba.setLogLevel(60)
        features = _features()
        matrix = features.fit_transform(texts)
        category, category_t = _fit_head(matrix, categories)
        emotion, emotion_t = _fit_head(matrix, emotions)
        return cls(features, category, emotion, len(texts), category_t, emotion_t)

    def predict(self, texts: list[str]) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        scorer = self._scorer
        categories: list[dict[str, float]] = []
        emotions: list[dict[str, float]] = []
        for text in texts:
            category_scores, emotion_scores = scorer.scores(text)
            categories.append(_probabilities(scorer.categories, category_scores, self.category_temperature))
            emotions.append(_probabilities(scorer.emotions, emotion_scores, self.emotion_temperature))
        return categories, emotions

    @cached_property
    def _scorer(self) -> _Scorer:
        return _Scorer.of(self)

    def save(self, path: Path) -> None:
        """Written next to the data it came from; a temp file then rename, so a reader never sees half."""
        import sklearn

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            self.__dict__.pop("_scorer", None)
            pickle.dump({"format": FORMAT, "sklearn": sklearn.__version__, "model": self}, handle)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> TrainedModel | None:
        """The saved model, or None when absent or written by another format/scikit-learn version
        (then the caller trains from the bundled data instead of trusting a stale pickle)."""
        import sklearn

        if not path.exists():
            return None
        with path.open("rb") as handle:
            saved = pickle.load(handle)
        if saved.get("format") != FORMAT or saved.get("sklearn") != sklearn.__version__:
            return None
        return saved["model"]


class _Scorer:
    """The fitted TF-IDF + linear heads, evaluated directly on one message at a time.

    Equivalent to ``head.decision_function(features.transform([text]))`` (a test checks it), but
    scikit-learn's per-call input validation costs ~40x the arithmetic for a single short
    message; the agent classifies one message per turn, so the hot path skips it.
    """

    def __init__(
        self,
        parts: list[tuple[Any, dict[str, int], Any, int]],
        heads: list[tuple[Any, Any, int]],
        classes: tuple[list[str], list[str]],
    ) -> None:
        self.parts = parts
        self.heads = heads
        self.categories, self.emotions = classes

    @classmethod
    def of(cls, model: TrainedModel) -> _Scorer:
        parts, offset = [], 0
        for _, vectorizer in model.features.transformer_list:
            idf = vectorizer.idf_.astype(np.float64).tolist()
            parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, idf, offset))
            offset += len(idf)
        # Both heads side by side: one gather and one product per message.
        coef = np.hstack([model.category.coef_.T, model.emotion.coef_.T]).astype(np.float64)
        intercept = np.concatenate([model.category.intercept_, model.emotion.intercept_]).astype(np.float64)
        classes = (model.category.classes_.tolist(), model.emotion.classes_.tolist())
        return cls(parts, [(np.ascontiguousarray(coef), intercept, len(model.category.classes_))], classes)

    def scores(self, text: str) -> tuple[Any, Any]:
        columns: list[int] = []
        values: list[float] = []
        for analyze, vocabulary, idf, offset in self.parts:
            counts: dict[int, int] = {}
            for token in analyze(text):
                index = vocabulary.get(token)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            weights = [(1.0 + math.log(n)) * idf[i] for i, n in counts.items()]
            norm = math.sqrt(sum(w * w for w in weights)) or 1.0
            columns.extend(i + offset for i in counts)
            values.extend(w / norm for w in weights)
        coef, intercept, split = self.heads[0]
        row = np.asarray(values) @ coef[columns] + intercept if columns else intercept.copy()
        return row[:split], row[split:]
