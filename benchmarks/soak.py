"""Soak: ``python -m benchmarks --only soak --minutes 30``: a long ``swapcam live`` run, measured a minute
at a time, to catch what a 20-second benchmark cannot: memory that creeps, latency that drifts, threads
or file handles that leak, faults that come only after a while.

720p synthetic input at 30 fps through the ``live`` int8 model (untrained weights time like trained
ones; ``--model`` for another) to ``--output null``. Each minute records the process's RSS, p95
latency, frames, faults, thread count and open file count. Targets (:func:`verdict`): RSS grows at most
5 % after the first minute, p95 drifts at most 10 % (the later half of the minutes after the first
against the earlier half: the first holds the start-up), no faults, no more threads or open files than
after the first minute. At least three minutes, so that there is a drift to measure.

The stream runs in a child process (this module as a script), so it is swapcam alone that is
measured, not this process with torch loaded. Writes DIR/soak.json and DIR/soak.png (RSS and p95 per
minute). Linux only (it reads /proc). Run it on an otherwise idle machine: other work moves p95.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Results

INPUT = "synthetic:size=1280x720,fps=30"
TARGETS = {"rss_growth": 0.05, "p95_drift": 0.10}
MIN_MINUTES = 3
QUICK_MINUTE_S = 10.0  # --quick: three "minutes" of 10 s, to check it runs


def process_sample() -> dict[str, float]:
    """This process's resident memory (MB), threads and open file descriptors, from /proc."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {
        "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
        "threads": int(status["Threads"]),
        "open_files": len(os.listdir("/proc/self/fd")),
    }


class MinuteSampler:
    """``on_output`` of the live run: latency and faults of the frames of each minute, and the process's
    sample at its end; the minutes so far in ``minutes``."""

    def __init__(self, minute_s: float = 60.0):
        self.minute_s = minute_s
        self.minutes: list[dict[str, Any]] = []
        self._started: float | None = None
        self._latency_ms: list[float] = []
        self._faults: dict[str, int] = {}
        self._no_face = 0

    def __call__(self, result: Any) -> None:  # a pipeline.Processed
        now = time.perf_counter()
        if self._started is None:
            self._started = now
        self._latency_ms.append((now - result.frame.timestamp) * 1e3)
        if result.fault is not None:
            self._faults[result.fault] = self._faults.get(result.fault, 0) + 1
        elif not result.faces_swapped:
            self._no_face += 1
        if now - self._started >= (len(self.minutes) + 1) * self.minute_s:
            self._end_minute()

    def _end_minute(self) -> None:
        latency = sorted(self._latency_ms)
        minute = {
            "minute": len(self.minutes) + 1,
            "frames": len(latency),
            "fps": round(len(latency) / self.minute_s, 2),
            "p50_ms": round(statistics.median(latency), 2),
            "p95_ms": round(latency[min(len(latency) - 1, int(0.95 * len(latency)))], 2),
            "faults": sum(self._faults.values()),
            "fault_kinds": dict(self._faults),
            "no_face": self._no_face,
            **process_sample(),
        }
        self.minutes.append(minute)
        print(
            f"soak: minute {minute['minute']}: RSS {minute['rss_mb']} MB, p95 {minute['p95_ms']} ms, "
            f"{minute['fps']} fps, faults {minute['faults']}, threads {minute['threads']}, "
            f"open files {minute['open_files']}",
            file=sys.stderr,
            flush=True,
        )
        self._latency_ms, self._faults, self._no_face = [], {}, 0


def p95_halves(minutes: list[dict[str, Any]]) -> tuple[float, float]:
    """Median p95 of the earlier and the later half of the minutes after the first (an odd one out in
    the middle)."""
    settled = minutes[1:]
    half = len(settled) // 2
    return (
        statistics.median(m["p95_ms"] for m in settled[:half]),
        statistics.median(m["p95_ms"] for m in settled[len(settled) - half :]),
    )


def verdict(minutes: list[dict[str, Any]]) -> dict[str, Any]:
    """The targets against the minutes (at least three): each measure, its limit and whether it is met."""
    first, later = minutes[0], minutes[1:]
    earlier_p95, later_p95 = p95_halves(minutes)
    measures = {
        "rss_growth": (minutes[-1]["rss_mb"] - first["rss_mb"]) / first["rss_mb"],
        "p95_drift": later_p95 / earlier_p95 - 1,
        "faults": sum(m["faults"] for m in minutes),
        "thread_growth": max(m["threads"] for m in later) - first["threads"],
        "open_file_growth": max(m["open_files"] for m in later) - first["open_files"],
    }
    limits = {**TARGETS, "faults": 0, "thread_growth": 0, "open_file_growth": 0}
    return {
        name: {"value": round(value, 4), "limit": limits[name], "met": value <= limits[name]}
        for name, value in measures.items()
    }


def plot(minutes: list[dict[str, Any]], checks: dict[str, Any], title: str, out: Path) -> bool:
    """RSS and p95 latency per minute with their limits (the look of swapcam report --plot); False
    without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    x = [m["minute"] for m in minutes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True)
    rss_limit = minutes[0]["rss_mb"] * (1 + TARGETS["rss_growth"])
    left.plot(x, [m["rss_mb"] for m in minutes], marker="o", color="#4a6fa5")
    left.axhline(rss_limit, color="#b00020", linestyle="--", linewidth=1.5, label="limit: minute 1 + 5 %")
    left.set_title(f"RSS per minute (growth {checks['rss_growth']['value'] * 100:+.1f} %)")
    left.set_ylabel("MB")
    right.plot(x, [m["p95_ms"] for m in minutes], marker="o", color="#d08a00", label="p95")
    right.plot(x, [m["p50_ms"] for m in minutes], marker=".", color="#2a7d2a", label="p50")
    p95_limit = p95_halves(minutes)[0] * (1 + TARGETS["p95_drift"])
    right.axhline(p95_limit, color="#b00020", linestyle="--", linewidth=1.5, label="limit: earlier half + 10 %")
    right.set_title(f"Latency per minute (p95 drift {checks['p95_drift']['value'] * 100:+.1f} %)")
    right.set_ylabel("ms")
    for axis in (left, right):
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.set_xlabel("minute")
        axis.grid(alpha=0.3)
        axis.legend(loc="best")
        axis.set_ylim(bottom=0)
    fig.suptitle(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def _soak_model(folder: Path) -> Path:
    """The ``live`` preset in int8 (what a CPU user runs live), or the demo model without torch."""
    try:
        from .model import preset_graph

        graph = preset_graph("live", "int8")
    except ImportError:
        from swapcam.realtime.run.demo import DEMO_MODEL

        return DEMO_MODEL
    import onnx

    path = folder / "live_int8.onnx"
    onnx.save(graph, str(path))
    return path


def run(quick: bool, model: str | None, minutes: float, out: Path) -> Results:
    count, minute_s = (MIN_MINUTES, QUICK_MINUTE_S) if quick else (max(MIN_MINUTES, round(minutes)), 60.0)
    with tempfile.TemporaryDirectory() as tmp:
        model = model or str(_soak_model(Path(tmp)))
        samples = Path(tmp) / "minutes.json"
        child = [sys.executable, "-m", "benchmarks.soak", model, str(count), str(minute_s), str(samples)]
        subprocess.run(child, check=True, cwd=Path(__file__).resolve().parents[1])
        soaked = json.loads(samples.read_text())
    checks = verdict(soaked["minutes"])
    results: Results = {
        "input": INPUT,
        "model": Path(model).name,
        "minute_s": minute_s,
        "minutes": soaked["minutes"],
        "report": {k: soaked["report"][k] for k in ("frames", "frames_dropped", "fps", "latency_ms", "peak_rss_mb")},
        "verdict": checks,
        "met": all(c["met"] for c in checks.values()),
    }
    (out / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    title = f"soak: {count} × {minute_s:g} s, {INPUT} → {Path(model).name} → null"
    if plot(soaked["minutes"], checks, title, out / "soak.png"):
        print(f"benchmarks: soak plot {out / 'soak.png'}")
    return results


def markdown(results: Results) -> list[str]:
    lines = [
        f"{len(results['minutes'])} × {results['minute_s']:g} s of `{results['input']}` through "
        f"{results['model']} to null.",
        "",
        "| minute | fps | p50 / p95 ms | faults | no face | RSS MB | threads | open files |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in results["minutes"]:
        lines.append(
            f"| {m['minute']} | {m['fps']:.1f} | {m['p50_ms']:.1f} / {m['p95_ms']:.1f} | {m['faults']} | "
            f"{m['no_face']} | {m['rss_mb']} | {m['threads']} | {m['open_files']} |"
        )
    lines += ["", "| target | value | limit | met |", "|---|---|---|---|"]
    for name, check in results["verdict"].items():
        lines.append(f"| {name} | {check['value']} | {check['limit']} | {'✔' if check['met'] else '✘'} |")
    return lines


def soak_child(model: str, count: int, minute_s: float, samples: Path) -> None:
    """The measured process: ``count`` minutes of ``swapcam live``, each sampled; writes ``samples``."""
    from swapcam.realtime.core.quiet import quiet_libraries
    from swapcam.realtime.run.config import LiveConfig
    from swapcam.realtime.run.live import LiveRun, run_live
    from swapcam.realtime.run.loop import PipelineSettings

    sampler = MinuteSampler(minute_s)
    # a little over: the last minute ends on the first frame after its end
    config = LiveConfig(pipeline=PipelineSettings(seconds=count * minute_s + 2))
    with quiet_libraries():
        report = run_live(LiveRun(INPUT, model, "null", config=config, on_output=sampler))
    samples.write_text(json.dumps({"minutes": sampler.minutes[:count], "report": report}))


if __name__ == "__main__":
    soak_child(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
