"""report.md: the tables a reader compares, each of our numbers beside its baseline."""

from __future__ import annotations

from typing import Any


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "–"


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "–"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _meta(report: dict[str, Any]) -> list[str]:
    meta = report["meta"]
    git, settings, machine = meta["git"], meta["settings"], meta["machine"]
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    lines = [
        f"# Warmline evaluation report — profile `{meta['profile']['name']}`",
        "",
        f"- started {meta['started_at']}, took {meta['seconds']:.0f} s",
        f"- commit `{git['commit']}`{dirty}",
        f"- model backend: {settings['model_backend']}; embedder: {settings['embedder']}",
        f"- database: `{settings['database_url']}`; chroma: {settings['chroma']}; "
        f"redis: {settings['redis_url']}",
        f"- machine: {machine['cpu']}, {machine['usable_cpus']} usable CPUs, {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, load average at start {machine['load_average_at_start']}",
        "",
        "| part | seconds | status |",
        "|---|---|---|",
    ]
    for part, seconds in report["timings"].items():
        status = f"failed: {report['errors'][part]}" if part in report["errors"] else "ok"
        lines.append(f"| {part} | {seconds:.1f} | {status} |")
    return lines


def _classification(data: dict[str, Any]) -> list[str]:
    results, ours, base = data["results"], data["ours"], data["baseline"]
    rows = []
    for key in ("category", "emotion", "urgency"):
        for metric in ("accuracy", "macro_f1"):
            rows.append(
                [f"{key} {metric}", _num(results[ours][key][metric]), _num(results[base][key][metric])]
            )
    rows.append(
        ["emergency recall", _num(results[ours]["emergency_recall"]), _num(results[base]["emergency_recall"])]
    )
    if "msgs_per_cpu_s" in results[ours]:
        rows.append(
            [
                "messages / CPU-second",
                str(results[ours]["msgs_per_cpu_s"]),
                str(results[base]["msgs_per_cpu_s"]),
            ]
        )
    if "smp2020_emotion" in results[ours]:
        smp = [results[name]["smp2020_emotion"] for name in (ours, base)]
        rows.append(
            [
                f"SMP2020 emotion accuracy (n={smp[0]['n']})",
                _num(smp[0]["accuracy"]),
                _num(smp[1]["accuracy"]),
            ]
        )
    return [
        f"## Classification (held-out set, n={results[ours]['n']})",
        "",
        *_table(["metric", "classifier (ours)", "keyword rules (baseline)"], rows),
        "",
        "![accuracy](classification_accuracy.png)",
        "",
        "![confusion](classification_confusion.png)",
    ]


def _kb(data: dict[str, Any]) -> list[str]:
    results = data["results"]
    splits = [s for s in ("dev", "test", "all") if s in results]
    rows = [
        [
            split,
            name,
            _pct(results[split][mode]["hit@1"]),
            _pct(results[split][mode]["hit@3"]),
            _num(results[split][mode]["mrr"]),
        ]
        for split in splits
        for mode, name in (("hybrid", "fused (ours)"), ("dense", "dense only"), ("lexical", "BM25 only"))
    ]
    quality = []
    for split in splits:
        block = results[split]
        quality.append(
            [
                split,
                _pct(block["abstention"]),
                _pct(block["false_abstention"]),
                _pct(block["fact_recall@3"]),
                _num(block.get("ragas_context_precision")),
                _num(block.get("ragas_context_recall")),
            ]
        )
    misses = results.get("misses") or []
    return [
        f"## Knowledge-base retrieval ({data['questions']} questions, {results.get('chunks')} chunks)",
        "",
        *_table(["split", "ranking", "hit@1", "hit@3", "MRR"], rows),
        "",
        *_table(
            [
                "split",
                "abstains (unanswerable)",
                "false abstentions",
                "facts@3",
                "ragas ctx precision",
                "ragas ctx recall",
            ],
            quality,
        ),
        "",
        "ragas context metrics: "
        + ("string-distance, no LLM" if data["ragas"] else "skipped in this profile"),
        "",
        f"Fused-ranking misses (expected document not in the top 3): {len(misses)}"
        + "".join(f"\n- {m['question']} → {', '.join(m['got'])}" for m in misses[:10]),
        "",
        "![retrieval](kb_retrieval.png)",
    ]


def _scenarios(data: dict[str, Any]) -> list[str]:
    summaries, k = data["summaries"], data["k"]
    ours, base = summaries[data["ours"]], summaries[data["baseline"]]
    others = [name for name in summaries if name not in (data["ours"], data["baseline"])]
    head = ["capability", "scenarios", "offline pass^1"] + ([f"offline pass^{k}"] if k > 1 else [])
    head += [f"{name} pass^1" for name in others] + ["without KB pass^1 (baseline)"]
    rows = []
    for capability in [*ours["capabilities"], "overall"]:

        def block(summary: dict[str, Any], capability: str = capability) -> dict[str, Any]:
            return (
                summary["overall"] if capability == "overall" else summary["capabilities"].get(capability, {})
            )

        row = [f"**{capability}**" if capability == "overall" else capability, str(block(ours)["scenarios"])]
        row.append(_pct(block(ours)["pass^1"]))
        if k > 1:
            row.append(_pct(block(ours)[f"pass^{k}"]))
        row += [_pct(block(summaries[name]).get("pass^1")) for name in others]
        row.append(_pct(block(base).get("pass^1")))
        rows.append(row)
    failures = ours.get("failures") or {}
    lines = [
        f"## Scenarios ({data['scenarios']} tau-bench-style scenarios through served instances, k={k})",
        "",
        *_table(head, rows),
        "",
        f"Failures of the offline policy: {len(failures)}",
    ]
    lines += [f"- `{sid}`: {'; '.join(problems[:2])}" for sid, problems in failures.items()]
    return [*lines, "", "![pass^k](scenarios_pass_k.png)"]


def _load(data: dict[str, Any]) -> list[str]:
    setup, integrity = data["setup"], data["integrity"]
    channels = [c for c in ("web", "wechat") if c in data]
    rows = [
        [
            channel,
            str(data[channel]["requests"]),
            str(data[channel]["errors"]),
            *(str(data[channel][key]) for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            str(data[channel].get("over_5s", "–")),
        ]
        for channel in channels
    ]
    return [
        f"## Season-start load ({setup['residents']} residents × {setup['messages_per_resident']} messages, "
        f"ramp {setup['ramp_s']} s, {setup['database']}, {setup['model']})",
        "",
        *_table(
            ["channel", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms", "WeChat > 5 s"], rows
        ),
        "",
        f"Throughput {data['throughput_rps']} requests/s over {data['wall_s']} s; "
        f"accepted {integrity['accepted']}, lost {integrity['lost']}, "
        f"unanswered {integrity.get('unanswered', '–')} after {data.get('drain_s', '–')} s of drain, "
        f"duplicate turns {integrity['duplicate_turns']}; WeChat late replies owed "
        f"{integrity.get('late_owed', '–')}, missing {integrity.get('late_missing', '–')}, "
        f"extra {integrity.get('late_extra', '–')}. The 1,000-resident surge is "
        "`python -m evals.load.run --residents 1000 --ramp 30` on an idle machine.",
        "",
        "![latency](load_latency.png)",
    ]


def render(report: dict[str, Any]) -> str:
    lines = _meta(report)
    for key, section in (
        ("classification", _classification),
        ("kb", _kb),
        ("scenarios", _scenarios),
        ("load", _load),
    ):
        if report.get(key):
            lines += ["", *section(report[key])]
    return "\n".join(lines) + "\n"
