"""PNG plots of a report (matplotlib, Agg backend: no display needed).

Labels are English on purpose: CI machines rarely have a CJK font, and label names (categories,
capabilities, channels) are the English label set of DESIGN.md anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

OURS, BASE, THIRD = "#c0392b", "#7f8c8d", "#2980b9"


def _bars(ax: Any, groups: list[str], series: dict[str, list[float]], colours: list[str]) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, ((label, values), colour) in enumerate(zip(series.items(), colours, strict=False)):
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label, color=colour)
        if len(groups) * len(series) <= 30:  # past that the labels overlap; the tables have the numbers
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    crowded = len(groups) > 8
    ax.set_xticks(x, groups, rotation=30 if crowded else 0, ha="right" if crowded else "center")
    ax.set_ylim(0, 1.3)  # headroom: the legend sits above the bars, never over them
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.legend(fontsize=8, loc="upper center", ncol=len(series), frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _save(fig: Any, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def classification(data: dict[str, Any], out: Path) -> list[str]:
    results = data["results"]
    ours, base = data["ours"], data["baseline"]
    metrics = [(key, m) for key in ("category", "emotion", "urgency") for m in ("accuracy", "macro_f1")]
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(
        ax,
        [f"{key}\n{metric}" for key, metric in metrics] + ["emergency\nrecall"],
        {
            name: [*(results[name][key][m] for key, m in metrics), results[name]["emergency_recall"]]
            for name in (ours, base)
        },
        [OURS, BASE],
    )
    ax.set_title(f"Classification on the held-out set (n={results[ours]['n']})")
    files = [_save(fig, out, "classification_accuracy.png")]

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, name in zip(axes, (ours, base), strict=True):
        confusion = results[name]["category"]["confusion"]
        labels = list(confusion)
        counts = np.array([[confusion[g][p] for p in labels] for g in labels], dtype=float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(shares, cmap="Reds", vmin=0, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        for (i, j), count in np.ndenumerate(counts):
            if count:
                ax.text(
                    j,
                    i,
                    int(count),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if shares[i, j] > 0.6 else "black",
                )
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"{name}: category accuracy {results[name]['category']['accuracy']:.3f}")
    files.append(_save(fig, out, "classification_confusion.png"))
    return files


def retrieval(data: dict[str, Any], out: Path) -> list[str]:
    block = data["results"]["all"]
    metrics = ["hit@1", "hit@3", "mrr"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    names = {"hybrid": "fused (ours)", "dense": "dense only", "lexical": "BM25 only"}
    _bars(ax, metrics, {names[m]: [block[m][x] for x in metrics] for m in names}, [OURS, BASE, THIRD])
    ax.set_title(f"KB retrieval, {block['answerable']} answerable questions")
    return [_save(fig, out, "kb_retrieval.png")]


def scenarios(data: dict[str, Any], out: Path) -> list[str]:
    summaries, k = data["summaries"], data["k"]
    ours = summaries[data["ours"]]
    capabilities = [*ours["capabilities"], "overall"]

    def score(summary: dict[str, Any], capability: str, key: str) -> float:
        block = summary["overall"] if capability == "overall" else summary["capabilities"].get(capability, {})
        return float(block.get(key, 0.0))

    series = {"offline pass^1": [score(ours, c, "pass^1") for c in capabilities]}
    if k > 1:
        series[f"offline pass^{k}"] = [score(ours, c, f"pass^{k}") for c in capabilities]
    if "llm" in summaries:
        series["llm pass^1"] = [score(summaries["llm"], c, "pass^1") for c in capabilities]
    series["without KB pass^1"] = [score(summaries[data["baseline"]], c, "pass^1") for c in capabilities]
    colour = {"offline pass^1": OURS, "llm pass^1": THIRD, "without KB pass^1": BASE}
    fig, ax = plt.subplots(figsize=(max(7, len(capabilities) * 0.8), 4.5))
    _bars(ax, capabilities, series, [colour.get(name, "#e67e22") for name in series])
    ax.set_title(f"Scenarios: pass^k per capability ({data['scenarios']} scenarios, k={k})")
    return [_save(fig, out, "scenarios_pass_k.png")]


def load(data: dict[str, Any], out: Path) -> list[str]:
    latencies = data.get("latencies_ms") or {}
    channels = [c for c in sorted(latencies) if latencies[c]]
    if not channels:
        return []
    fig, axes = plt.subplots(1, len(channels), figsize=(5.5 * len(channels), 3.8), squeeze=False)
    for ax, channel in zip(axes[0], channels, strict=True):
        values = latencies[channel]
        ax.hist(values, bins=min(40, max(5, len(values) // 3)), color=OURS if channel == "web" else THIRD)
        stats = data.get(channel, {})
        for key, style in (("p50_ms", "--"), ("p95_ms", ":")):
            if key in stats:
                ax.axvline(stats[key], color="black", linestyle=style, label=f"{key[:3]} {stats[key]} ms")
        if channel == "wechat":
            ax.axvline(5000, color="#8e44ad", label="WeChat 5 s limit")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("requests")
        ax.set_title(f"{channel}: {len(values)} requests")
        ax.legend(fontsize=8)
    setup = data.get("setup", {})
    title = f"Season-start surge: {setup.get('residents')} residents, {setup.get('database')}"
    fig.suptitle(title, fontsize=10)
    return [_save(fig, out, "load_latency.png")]


def make_plots(report: dict[str, Any], out: Path) -> list[str]:
    files: list[str] = []
    for key, draw in (
        ("classification", classification),
        ("kb", retrieval),
        ("scenarios", scenarios),
        ("load", load),
    ):
        if report.get(key):
            files += draw(report[key], out)
    return files
