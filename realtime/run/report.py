"""Run statistics: counts, latency and per-stage timing, and the JSON report written by ``--report``.

Report fields: ``frames`` (output frames) = ``frames_swapped`` + ``frames_passed_through``;
``frames_dropped`` (captured or due but never processed, because processing was behind);
``faults`` {kind: count} (no_face, bad_frame, nan_output, error:…); ``fps`` (output frames per
second, sustained); ``capture_fps`` (the rate frames really arrived at); ``latency_ms``
{p50, p95, p99} from capture timestamp to the output written (with several outputs: handed to them);
``latency_histogram`` {edges_ms, counts}: the latencies in bins 12 % wide (what ``swapcam report
--plot`` draws; a hundred numbers at most, however long the run); ``stages_ms`` {stage: {p50, p95}};
``outputs`` {output: {written, dropped, errors, latency_ms {p50, p95}, and error, opened (what
``auto`` chose), audio (what a recording did with the input's sound) where they apply}};
``camera`` {outages, reopened, stand_in_frames, lost_s, last_error} for a camera that was lost and
reopened (realtime/sources/reopen.py; its stand-in frames count in ``faults`` as ``camera_lost``);
``first_output_unix`` (wall-clock time the first frame was written, for start-up measurements);
``peak_rss_mb`` (the process's peak resident memory); ``shed`` (null when shedding was off): the
frame budget's ``budget_ms``, its ``order``, per step ``times_shed``, ``frames_shed`` (frames processed
with it shed) and measured ``saving_ms``, the steps ``in_force_at_end`` and the first ``events``
(realtime/run/budget.py).
"""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.files import write_atomic
from ..core.timing import MAX_SAMPLES, percentiles
from .budget import shed_lines

if TYPE_CHECKING:
    from .processor import Processed


# latency histogram bins: 20 a decade (each 12 % wider than the last) from 0.1 ms to 100 s, so one
# layout fits a GPU's 2 ms and a slow laptop's 2 s alike
HISTOGRAM_EDGES_MS = 0.1 * 10 ** (np.arange(121) / 20)


def latency_histogram(values) -> dict[str, list]:
    """{"edges_ms": [...], "counts": [...]} of ``values`` (ms) over HISTOGRAM_EDGES_MS, trimmed to the
    bins from the first to the last non-empty one (len(edges) = len(counts) + 1); values outside the
    range count in the first or last bin."""
    data = np.clip(np.asarray(values, np.float64), HISTOGRAM_EDGES_MS[0], HISTOGRAM_EDGES_MS[-1] * 0.999)
    counts = np.histogram(data, HISTOGRAM_EDGES_MS)[0]
    used = np.flatnonzero(counts)
    if used.size == 0:
        return {"edges_ms": [], "counts": []}
    first, last = int(used[0]), int(used[-1])
    return {
        "edges_ms": [float(f"{e:.4g}") for e in HISTOGRAM_EDGES_MS[first : last + 2]],
        "counts": counts[first : last + 1].tolist(),
    }


def _rate(first: float | None, last: float | None, count: int) -> float:
    if first is None or last is None or count < 2 or last <= first:
        return 0.0
    return (count - 1) / (last - first)


class RunStats:
    def __init__(self):
        self.frames = 0
        self.frames_swapped = 0
        self.faces_swapped = 0
        self.frames_captured = 0
        self.dropped = 0
        self.faults: collections.Counter[str] = collections.Counter()
        self.latency_ms: collections.deque[float] = collections.deque(maxlen=MAX_SAMPLES)
        self.stages_ms: dict[str, collections.deque[float]] = {}
        self._capture_first: float | None = None
        self._capture_last: float | None = None
        self._output_first: float | None = None
        self._output_last: float | None = None
        self._first_output_unix: float | None = None

    def captured(self, timestamp: float) -> None:
        self.frames_captured += 1
        if self._capture_first is None:
            self._capture_first = timestamp
        self._capture_last = timestamp

    def output(self, result: Processed, written_at: float) -> None:
        self.frames += 1
        if result.faces_swapped:
            self.frames_swapped += 1
            self.faces_swapped += result.faces_swapped
        else:
            self.faults[result.fault or "no_face"] += 1
        self.latency_ms.append((written_at - result.frame.timestamp) * 1e3)
        for stage, ms in result.stages_ms.items():
            self.stages_ms.setdefault(stage, collections.deque(maxlen=MAX_SAMPLES)).append(ms)
        if self._output_first is None:
            self._output_first = written_at
            self._first_output_unix = time.time()
        self._output_last = written_at

    @property
    def frames_passed_through(self) -> int:
        return self.frames - self.frames_swapped

    def report(self, **context: Any) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "frames_swapped": self.frames_swapped,
            "frames_passed_through": self.frames_passed_through,
            "frames_dropped": self.dropped,
            "frames_captured": self.frames_captured,
            "faces_swapped": self.faces_swapped,
            "faults": dict(sorted(self.faults.items())),
            "fps": round(_rate(self._output_first, self._output_last, self.frames), 2),
            "capture_fps": round(_rate(self._capture_first, self._capture_last, self.frames_captured), 2),
            "latency_ms": percentiles(self.latency_ms),
            "latency_histogram": latency_histogram(self.latency_ms),
            "stages_ms": {stage: percentiles(v, (50, 95)) for stage, v in self.stages_ms.items()},
            "first_output_unix": self._first_output_unix,
            **context,
        }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short human-readable summary of a report."""
    lat = report["latency_ms"]
    lines = [
        f"frames {report['frames']}  swapped {report['frames_swapped']}  passed through "
        f"{report['frames_passed_through']}  dropped {report['frames_dropped']}",
        f"fps {report['fps']:.1f} (input {report['capture_fps']:.1f})  latency p50 {lat['p50']:.1f} ms  "
        f"p95 {lat['p95']:.1f} ms  p99 {lat['p99']:.1f} ms",
    ]
    if report["faults"]:
        lines.append("passed through: " + ", ".join(f"{k} {v}" for k, v in report["faults"].items()))
    camera = report.get("camera")
    if camera and camera["outages"]:
        lines.append(
            f"camera lost {camera['outages']}x for {camera['lost_s']:.1f} s (stand-in frames "
            f"{camera['stand_in_frames']}), reopened {camera['reopened']}x"
        )
    outputs = report.get("outputs", {})
    if len(outputs) > 1 or any(o["dropped"] or o["errors"] for o in outputs.values()):
        lines.append(
            "outputs: "
            + "; ".join(
                f"{name} written {o['written']} dropped {o['dropped']} errors {o['errors']}"
                + (f" ({o['error']})" if o.get("error") else "")
                for name, o in outputs.items()
            )
        )
    lines += shed_lines(report.get("shed"))
    if report["stages_ms"]:
        lines.append(
            "stage ms (p50/p95): "
            + "  ".join(f"{stage} {v['p50']:.1f}/{v['p95']:.1f}" for stage, v in report["stages_ms"].items())
        )
    return lines


def stage_table(report: dict[str, Any]) -> list[str]:
    """The per-stage timings of a report as an aligned text table, one stage a row."""
    stages = report["stages_ms"]
    if not stages:
        return []
    width = max(len("stage"), *(len(name) for name in stages))
    rows = [f"{'stage':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}"]
    rows += [f"{name:<{width}}  {v['p50']:7.2f}  {v['p95']:7.2f}" for name, v in stages.items()]
    return rows


def peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB, or None where the OS does not say.

    On Linux it is VmHWM of the process's own address space: getrusage's ru_maxrss also counts the
    memory of the parent at fork/exec, so a run started from a big process (a benchmark that had
    loaded torch) would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)  # bytes on macOS, KB elsewhere


def write_json_atomic(path: str | Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file and a rename, so no half file is left."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")

    write_atomic(path, write)
