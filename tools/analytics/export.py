"""Dashboard exports: CSV that Excel opens with Chinese intact, and a PNG chart.

Excel guesses a CSV's encoding and guesses GBK on Chinese Windows unless the file starts with a
UTF-8 byte-order mark, so every export starts with one. Charts use a CJK-capable font when the
machine has one; without one the labels fall back to the English label codes instead of boxes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

BOM = "\ufeff"
CJK_FONT_NAMES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
)


def to_csv(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None
) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers or columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue().encode("utf-8")


@cache
def cjk_font() -> str | None:
    from matplotlib import font_manager

    available = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONT_NAMES if name in available), None)


def volume_chart(
    rows: list[dict[str, Any]], *, title: str, fallback_title: str, labels: dict[str, str] | None = None
) -> bytes:
    """A line per key over the buckets of ``volumes()`` rows, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    font = cjk_font()
    names = labels if font and labels else {}
    series: dict[str, dict[str, int]] = defaultdict(dict)
    buckets = sorted({row["bucket"] for row in rows})
    for row in rows:
        series[row["key"]][row["bucket"]] = row["count"]
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.subplots()
    for key, points in sorted(series.items()):
        axes.plot(buckets, [points.get(b, 0) for b in buckets], marker="o", label=names.get(key, key))
    axes.set_title(title if font else fallback_title, fontfamily=font or "sans-serif")
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    if series:
        legend = axes.legend(fontsize=8, loc="upper left")
        for text in legend.get_texts():
            text.set_fontfamily(font or "sans-serif")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
