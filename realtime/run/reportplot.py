"""``swapcam report RUN.json --plot latency.png``: a run report's latency histogram (p50/p95/p99 marked)
beside its per-stage times (p50 and p95 bars). matplotlib is optional (the dev and train extras) and
imported only here, when a plot is asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import UserError
from ..core.files import require_folder

PERCENTILE_COLOURS = {"p50": "#2a7d2a", "p95": "#d08a00", "p99": "#b00020"}


def read_report(path: str | Path) -> dict[str, Any]:
    """A run report from ``path``; UserError when it is missing or not one."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"report {path} does not exist: write one with swapcam live --report {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"report {path} is not JSON ({type(err).__name__}): give the file --report wrote") from None
    if not isinstance(report, dict) or not {"frames", "latency_ms", "stages_ms"} <= set(report):
        raise UserError(f"{path} is not a swapcam run report: give the file swapcam live --report wrote")
    return report


def plot_report(report: dict[str, Any], out: str | Path) -> None:
    """Write the report's latency histogram and stage times to ``out`` (PNG)."""
    out = require_folder(out)
    histogram = report.get("latency_histogram")
    if not histogram:
        raise UserError(
            "this report has no latency histogram (written by an older swapcam): run swapcam live --report again"
        )
    try:
        import matplotlib
    except ImportError:
        raise UserError("--plot needs matplotlib: pip install matplotlib (or pip install -e '.[dev]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), width_ratios=(3, 2), constrained_layout=True)
    edges, counts = np.asarray(histogram["edges_ms"], float), np.asarray(histogram["counts"], float)
    if counts.size:
        left.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#8aa9d6", edgecolor="#4a6fa5")
        left.set_xscale("log")
        left.set_xlim(edges[0] / 1.2, edges[-1] * 1.2)
        # plain milliseconds at 1-2-5 steps, not powers of ten
        left.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        left.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        left.xaxis.set_minor_formatter(ticker.NullFormatter())
    top = counts.max() if counts.size else 1.0
    for i, (name, value) in enumerate(report["latency_ms"].items()):
        colour = PERCENTILE_COLOURS.get(name, "black")
        left.axvline(value, color=colour, linestyle="--", linewidth=1.5)
        left.annotate(
            f"{name} {value:.1f} ms", (value, top * (0.97 - 0.09 * i)), xytext=(4, 0), textcoords="offset points",
            color=colour, fontsize=10, va="top", fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},  # legible over bars
        )  # fmt: skip
    left.set_xlabel("latency, capture → output (ms, log scale)")
    left.set_ylabel("frames")
    left.set_title(f"Latency of {report['frames']} frames")
    left.grid(axis="y", alpha=0.3)

    stages = report["stages_ms"]
    names = list(stages)
    y = np.arange(len(names))
    right.barh(y - 0.2, [stages[n]["p50"] for n in names], 0.4, label="p50", color="#4a6fa5")
    right.barh(y + 0.2, [stages[n]["p95"] for n in names], 0.4, label="p95", color="#e0a040")
    for row, name in enumerate(names):
        right.annotate(
            f"{stages[name]['p50']:.1f} / {stages[name]['p95']:.1f}", (stages[name]["p95"], row + 0.2),
            xytext=(3, 0), textcoords="offset points", va="center", fontsize=8,
        )  # fmt: skip
    right.set_yticks(y, names)
    right.invert_yaxis()  # stages top to bottom in pipeline order
    right.set_xlabel("ms per frame")
    right.set_title("Stages (p50 / p95)")
    right.legend(loc="lower right")
    right.grid(axis="x", alpha=0.3)
    if names:
        right.set_xlim(0, max(stages[n]["p95"] for n in names) * 1.25 or 1.0)

    outputs = " + ".join(report.get("output", [])) if isinstance(report.get("output"), list) else report.get("output")
    fig.suptitle(
        f"{report.get('input', '?')} → {report.get('model', '?')} → {outputs or '?'}: "
        f"{report.get('fps', 0):.1f} fps, {report.get('width', '?')}×{report.get('height', '?')}, "
        f"dropped {report.get('frames_dropped', 0)}"
    )
    fig.savefig(out, dpi=110)
    plt.close(fig)
