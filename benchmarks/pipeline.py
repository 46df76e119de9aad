"""Pipeline and start-up: ``swapcam live`` as a user runs it, in a child process.

Each run is a separate process reaped with ``os.wait4``, so its CPU time is its own.
Full runs repeat each case (``--repeat``) and report field-by-field medians, since one run on a
shared machine moves by more than most changes do.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import Results

MEDIA_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "liveportrait-driving" / "d9.mp4"


LIVE = ("-m", "swapcam.realtime.cli", "live")


def run_live(args: list[str], env: dict[str, str] | None = None, live: Sequence[str] = LIVE) -> Results:
    """Run ``swapcam live ARGS --report …``; returns the report (which has peak_rss_mb) plus cpu_cores
    and wall_s. Peak memory comes from the run itself: the ru_maxrss that wait4 returns also counts
    this process's memory at fork, which after the model section (torch) is gigabytes. ``live``: the
    interpreter arguments that start ``swapcam live`` (benchmarks/side_by_side.py runs older builds)."""
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        command = [sys.executable, *live, *args, "--report", str(report_path)]
        started = time.time()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}, text=True
        )
        stderr_reader = process.stderr
        assert stderr_reader is not None  # stderr=PIPE
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.time() - started
        errors = stderr_reader.read()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"swapcam live failed ({process.returncode}): {errors.strip().splitlines()[-1:]}")
        report = json.loads(report_path.read_text())
    report["wall_s"] = round(wall, 2)
    report["cpu_cores"] = round((usage.ru_utime + usage.ru_stime) / wall, 2)
    report["startup_s"] = round(report["first_output_unix"] - started, 2) if report["first_output_unix"] else None
    return report


def _upscaled_clip(folder: Path, seconds: float) -> Path | None:
    """The real clip resized to 1280×720 (letterboxed), or None without ../shared/media."""
    import cv2
    import numpy as np

    if not MEDIA_CLIP.exists():
        return None
    capture = cv2.VideoCapture(str(MEDIA_CLIP))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    out = folder / "clip720.mp4"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (1280, 720))
    for _ in range(int(seconds * fps)):
        ok, image = capture.read()
        if not ok:
            break
        scale = 720 / image.shape[0]
        resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        canvas = np.zeros((720, 1280, 3), np.uint8)
        x = (1280 - resized.shape[1]) // 2
        canvas[:, x : x + resized.shape[1]] = resized
        writer.write(canvas)
    writer.release()
    return out


def median_report(reports: list[Any]) -> Any:
    """Field by field median of reports with the same layout (non-numbers from the first report)."""
    first = reports[0]
    if isinstance(first, dict):
        return {
            key: median_report([r[key] for r in reports]) if all(key in r for r in reports) else first[key]
            for key in first
        }
    if isinstance(first, (int, float)) and not isinstance(first, bool) and all(r is not None for r in reports):
        return round(statistics.median(reports), 2)
    return first


def _repeated(args: list[str], repeat: int) -> Results:
    reports = [run_live(args) for _ in range(repeat)]
    summary = median_report(reports)
    summary["runs"] = [
        {"fps": r["fps"], "p95_ms": r["latency_ms"]["p95"], "dropped": r["frames_dropped"]} for r in reports
    ]
    return summary


def _default_model(folder: Path) -> Path:
    """The ``live`` preset (untrained weights time like trained ones), or the demo model without torch."""
    try:
        from .model import preset_graph

        graph = preset_graph("live")
    except ImportError:
        from swapcam.realtime.run.demo import DEMO_MODEL

        return DEMO_MODEL
    import onnx

    path = folder / "live.onnx"
    onnx.save(graph, str(path))
    return path


def run(quick: bool, model: str | None, repeat: int, live_args: Sequence[str] = ()) -> Results:
    seconds = 3 if quick else 20
    repeat = 1 if quick else repeat
    results: Results = {}
    with tempfile.TemporaryDirectory() as tmp:
        model = model or str(_default_model(Path(tmp)))
        common = ["--model", model, "--output", "null", "--seconds", str(seconds), *live_args]
        results["synthetic_720p"] = _repeated(["--input", "synthetic:size=1280x720,fps=30", *common], repeat)
        if not quick:
            clip = _upscaled_clip(Path(tmp), seconds + 2)
            if clip is not None:
                results["real_clip_720p"] = _repeated(["--input", f"file:{clip}", "--pace", "live", *common], repeat)
        with tempfile.TemporaryDirectory() as cache:
            startup_args = [
                "--input",
                "synthetic:size=1280x720",
                "--model",
                model,
                "--output",
                "null",
                "--max-frames",
                "1",
                *live_args,
            ]
            cold = run_live(startup_args, env={"NUMBA_CACHE_DIR": cache})
            warm = [run_live(startup_args, env={"NUMBA_CACHE_DIR": cache})["startup_s"] for _ in range(repeat)]
    results["startup"] = {"cold_s": cold["startup_s"], "warm_s": statistics.median(warm)}
    return results


def markdown(results: Results) -> list[str]:
    lines = [
        "| run | fps | latency p50 / p95 / p99 ms | dropped | CPU cores | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    stage_rows, notes = [], []
    for name, report in results.items():
        if name == "startup":
            continue
        lat = report["latency_ms"]
        lines.append(
            f"| {name} ({report['width']}×{report['height']}, {report['model']}) | {report['fps']:.1f} "
            f"(input {report['capture_fps']:.1f}) | {lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f} | "
            f"{report['frames_dropped']} of {report['frames_captured'] + report['frames_dropped']} | "
            f"{report['cpu_cores']} | {report['peak_rss_mb']} |"
        )
        stage_rows.append((name, report["stages_ms"]))
        if len(report.get("runs", [])) > 1:
            runs_fps = ", ".join(f"{r['fps']:.1f}" for r in report["runs"])
            runs_p95 = ", ".join(f"{r['p95_ms']:.1f}" for r in report["runs"])
            notes.append(f"{name}: medians of {len(report['runs'])} runs; fps {runs_fps}; p95 ms {runs_p95}.")
    stages = sorted(
        {s for _, st in stage_rows for s in st},
        key=lambda s: list(stage_rows[0][1]).index(s) if s in stage_rows[0][1] else 99,
    )
    lines += [
        "",
        "| stage ms p50 / p95 | " + " | ".join(n for n, _ in stage_rows) + " |",
        "|---|" + "---|" * len(stage_rows),
    ]
    for stage in stages:
        cells = [f"{st[stage]['p50']:.2f} / {st[stage]['p95']:.2f}" if stage in st else "–" for _, st in stage_rows]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    startup = results["startup"]
    lines += ["", *notes] if notes else []
    lines += [
        "",
        f"Start-up to first output frame: cold (empty Numba cache) {startup['cold_s']} s, warm {startup['warm_s']} s.",
    ]
    return lines
