"""``warmline eval classify``: the classifier and the keyword baseline side by side on the held-out set.

Prints, for each classifier: accuracy and macro-F1 per label set (category, emotion, urgency), a
per-class table, the category confusion matrix, emergency recall (a missed burst pipe is the error
that matters most) and single-core throughput; then emotion accuracy on the external SMP2020-EWECT
Weibo data under its stated label mapping. Throughput is measured one message at a time, as the
agent classifies, with BLAS/OpenMP pools held to one thread.
"""

from __future__ import annotations

import csv
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tools.labels import CATEGORIES, EMOTIONS, URGENCIES

LABEL_SETS = {"category": CATEGORIES, "emotion": EMOTIONS, "urgency": URGENCIES}
SMP_DIR = Path("/work/shared/datasets/smp2020_ewect")
SMP_FILES = ("usual_eval_labeled.csv", "usual_test_labeled.csv")
# label_mapping.csv: happy→满意, neutral→平静, fear→焦虑, angry→不满/生气/愤怒 (either of our two
# negative labels); sad and surprise have no target class and are left out.
SMP_MAPPING: dict[str, tuple[str, ...]] = {
    "happy": ("satisfied",),
    "neutral": ("neutral",),
    "fear": ("anxious",),
    "angry": ("angry", "dissatisfied"),
}


class Classifies(Protocol):
    def classify(self, text: str, *, vulnerable: bool = False) -> Any: ...


@dataclass
class Scores:
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]


def score(gold: list[str], predicted: list[str], labels: tuple[str, ...]) -> Scores:
    pairs = Counter(zip(gold, predicted, strict=True))
    per_class: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = pairs[(label, label)]
        support = sum(n for (g, _), n in pairs.items() if g == label)
        predicted_n = sum(n for (_, p), n in pairs.items() if p == label)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [label for label in labels if per_class[label]["support"]]
    return Scores(
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(len(gold), 1),
        macro_f1=sum(per_class[label]["f1"] for label in present) / max(len(present), 1),
        per_class=per_class,
        confusion={g: {p: pairs[(g, p)] for p in labels} for g in labels},
    )


def throughput(classifier: Classifies, texts: list[str], *, seconds: float = 1.5) -> dict[str, float]:
    """Messages per second, one at a time on one thread: per CPU-second (fair on a shared machine,
    where other processes steal the core) and per wall-clock second."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for text in texts[:20]:
            classifier.classify(text)
        done, wall, cpu = 0, time.perf_counter(), time.thread_time()
        while time.perf_counter() - wall < seconds:
            for text in texts:
                classifier.classify(text)
            done += len(texts)
        return {
            "cpu": round(done / (time.thread_time() - cpu)),
            "wall": round(done / (time.perf_counter() - wall)),
        }


def evaluate(classifier: Classifies, examples: list[dict[str, Any]], *, speed: bool = True) -> dict[str, Any]:
    results = [classifier.classify(example["text"]) for example in examples]
    report: dict[str, Any] = {"n": len(examples)}
    for key, labels in LABEL_SETS.items():
        scores = score([e[key] for e in examples], [getattr(r, key) for r in results], labels)
        report[key] = scores.__dict__
    emergencies = [r.urgency for r, e in zip(results, examples, strict=True) if e["urgency"] == "emergency"]
    report["emergency_recall"] = sum(u == "emergency" for u in emergencies) / max(len(emergencies), 1)
    report["emergency_n"] = len(emergencies)
    report["emergency_missed"] = [
        e["text"]
        for r, e in zip(results, examples, strict=True)
        if e["urgency"] == "emergency" and r.urgency != "emergency"
    ]
    if speed:
        speed_of = throughput(classifier, [e["text"] for e in examples])
        report["msgs_per_cpu_s"], report["msgs_per_wall_s"] = speed_of["cpu"], speed_of["wall"]
    return report


def load_smp(directory: Path = SMP_DIR, *, limit: int = 2000, seed: int = 0) -> list[tuple[str, str]]:
    """A bounded, seeded sample of SMP2020-EWECT rows whose label has a target class."""
    rows: list[tuple[str, str]] = []
    for name in SMP_FILES:
        path = directory / name
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                rows += [
                    (r["content"], r["label"]) for r in csv.DictReader(handle) if r["label"] in SMP_MAPPING
                ]
    random.Random(seed).shuffle(rows)
    return rows[:limit]


def evaluate_smp(classifier: Classifies, rows: list[tuple[str, str]]) -> dict[str, Any]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for text, label in rows:
        totals[label] += 1
        hits[label] += classifier.classify(text).emotion in SMP_MAPPING[label]
    return {
        "n": len(rows),
        "accuracy": sum(hits.values()) / max(len(rows), 1),
        "per_label": {
            label: {"n": totals[label], "accuracy": hits[label] / totals[label]} for label in totals
        },
    }


def run(
    classifiers: dict[str, Classifies],
    examples: list[dict[str, Any]],
    *,
    smp_dir: Path = SMP_DIR,
    smp_limit: int = 2000,
    speed: bool = True,
) -> dict[str, Any]:
    smp_rows = load_smp(smp_dir, limit=smp_limit) if smp_limit else []
    output: dict[str, Any] = {}
    for name, classifier in classifiers.items():
        output[name] = evaluate(classifier, examples, speed=speed)
        if smp_rows:
            output[name]["smp2020_emotion"] = evaluate_smp(classifier, smp_rows)
    return output


def format_report(output: dict[str, Any]) -> str:
    names = list(output)
    lines = ["指标".ljust(26) + "".join(name.rjust(14) for name in names)]

    def row(title: str, values: list[Any]) -> None:
        lines.append(title.ljust(26) + "".join(str(v).rjust(14) for v in values))

    for key in LABEL_SETS:
        row(f"{key} accuracy", [f"{output[n][key]['accuracy']:.3f}" for n in names])
        row(f"{key} macro-F1", [f"{output[n][key]['macro_f1']:.3f}" for n in names])
    row(
        "emergency recall",
        [f"{output[n]['emergency_recall']:.3f} (n={output[n]['emergency_n']})" for n in names],
    )
    if "msgs_per_cpu_s" in output[names[0]]:
        row("msgs/CPU-s (1 thread)", [output[n]["msgs_per_cpu_s"] for n in names])
        row("msgs/wall-s (1 thread)", [output[n]["msgs_per_wall_s"] for n in names])
    if "smp2020_emotion" in output[names[0]]:
        row("SMP2020 emotion acc", [f"{output[n]['smp2020_emotion']['accuracy']:.3f}" for n in names])
        row("SMP2020 n", [output[n]["smp2020_emotion"]["n"] for n in names])
    for name in names:
        for key in ("category", "emotion"):
            lines += ["", f"[{name}] {key} per class: precision recall f1 support"]
            for label, m in output[name][key]["per_class"].items():
                lines.append(
                    f"  {label:<18}{m['precision']:>8.2f}{m['recall']:>8.2f}{m['f1']:>8.2f}{m['support']:>8}"
                )
        confusion = output[name]["category"]["confusion"]
        short = [label[:5] for label in confusion]
        lines += ["", f"[{name}] category confusion (rows gold, columns predicted)"]
        lines.append(" " * 18 + "".join(s.rjust(6) for s in short))
        for gold, counts in confusion.items():
            lines.append(f"  {gold:<16}" + "".join(str(c).rjust(6) for c in counts.values()))
        if output[name]["emergency_missed"]:
            lines.append(f"[{name}] missed emergencies: " + " / ".join(output[name]["emergency_missed"]))
        smp = output[name].get("smp2020_emotion")
        if smp:
            lines.append(
                f"[{name}] SMP2020 per label: "
                + ", ".join(f"{k} {v['accuracy']:.2f} (n={v['n']})" for k, v in smp["per_label"].items())
            )
    return "\n".join(lines)
