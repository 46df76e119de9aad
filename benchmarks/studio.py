"""The studio's cost and reaction: ``python -m benchmarks.studio [--model M.onnx] [--seconds 20] [--repeat 3] [--changes 40]``

1. **With the page open.** ``swapcam live`` and ``swapcam studio`` take turns on the same input
   (synthetic 1280×720 at 30 fps), model and flags, each for ``--seconds``; the studio's page is open
   in headless Chromium (the system's package) with its preview and numbers running the whole time.
   Both write their run report: fps and latency percentiles, medians over ``--repeat`` pairs, and the
   rate the page's preview really showed.
2. **A setting change.** One stream of the same input with the mask opacity switched between 1 and 0
   through the stream's LiveControl (what the studio's POST /api/settings does) every half second.
   Every output frame is checked against the camera frame: at opacity 0 they are equal. For each
   change it counts the frames output after the change that still showed the old setting.

Without ``--model`` it times the ``live`` preset in int8 (untrained weights time like trained ones;
needs torch). Prints markdown for benchmarks/RESULTS.md and writes the JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import Results, machine
from .pipeline import run_live as run_swapcam_live

INPUT = "synthetic:size=1280x720,fps=30"
# whose CPU time the studio runs count: the studio process (stream, server, preview encoding) and
# every process of the browser showing its page
CPU_OF = {"studio": "swapcam.realtime.cli\0studio", "browser": "chromium"}


def studio_run(args: list[str], seconds: float) -> Results:
    """``swapcam studio ARGS`` with its page open in headless Chromium: once the page shows the
    stream, the stream is restarted with ``seconds`` as its limit (through the page's own API), so the
    run measured is all with the page open. Its report plus ``preview_fps``, the rate the page's
    preview changed frames."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("benchmarks.studio: no Chromium here: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        command = [
            sys.executable, "-m", "swapcam.realtime.cli", "studio", *args, "--report", str(report_path), "--port", "0", "--no-browser", "--recordings", tmp, "--presets", tmp,
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        url = process.stdout.readline().split("open ", 1)[1].strip()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(url)
                page.wait_for_selector("#preview[data-frame]", timeout=120_000)
                page.wait_for_timeout(2000)  # the browser settles
                restarted = time.time()
                page.evaluate(
                    "fetch('/api/settings', {method: 'POST', headers: {'X-Swapcam-Token': document.body.dataset.token},"
                    f" body: JSON.stringify({{pipeline: {{seconds: {seconds}}}}})}})"
                )
                page.evaluate(
                    "window.previews = 0; new MutationObserver(() => window.previews++)"
                    ".observe(document.querySelector('#preview'), {attributeFilter: ['data-frame']})"
                )
                opened = time.perf_counter()
                cpu_before = {name: cpu_seconds(match) for name, match in CPU_OF.items()}
                while not _report_of_limited_run(report_path, restarted):
                    time.sleep(0.2)
                elapsed = time.perf_counter() - opened
                cpu = {name: (cpu_seconds(match) - cpu_before[name]) / elapsed for name, match in CPU_OF.items()}
                preview_fps = page.evaluate("window.previews") / elapsed
                browser.close()
            report = json.loads(report_path.read_text())
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    report["preview_fps"] = round(preview_fps, 1)
    report["cpu_cores"] = round(cpu["studio"], 2)
    report["browser_cpu_cores"] = round(cpu["browser"], 2)
    return report


def cpu_seconds(match: str) -> float:
    """User + system CPU seconds of the live processes whose command line contains ``match``."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if match.encode() not in (stat.parent / "cmdline").read_bytes():
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _report_of_limited_run(path: Path, restarted: float) -> bool:
    """The report of the run restarted with the limit is there: its first frame came after the
    restart (the run before it wrote a report too, when the restart stopped it)."""
    try:
        return json.loads(path.read_text())["first_output_unix"] > restarted
    except (OSError, ValueError, KeyError, TypeError):
        return False


def with_opacity(opacity: float):
    def change(cfg):
        return cfg.replace(mask=cfg.mask.replace(opacity=opacity))

    return change


def change_latency(model: str, changes: int, interval_s: float = 0.5) -> Results:
    """How many output frames after a change of opacity still show the old value (see module doc)."""
    from swapcam.realtime.provenance.label import ProvenanceSettings
    from swapcam.realtime.run.config import LiveConfig
    from swapcam.realtime.run.live import LiveRun, run_live
    from swapcam.realtime.run.retune import LiveControl
    from swapcam.realtime.sinks.base import OutputSettings

    # unlabelled and unmarked: a frame shows the change when it equals the camera frame
    config = LiveConfig(output=OutputSettings(label=""), provenance=ProvenanceSettings(watermark=False))
    control = LiveControl(config)
    shows_camera: list[bool | None] = []  # per output frame; None: no face swapped (tells nothing)

    def on_output(result) -> None:
        if not result.faces_swapped:
            shows_camera.append(None)
            return
        difference = np.abs(result.image[::2, ::2].astype(np.int16) - result.original[::2, ::2]).max()
        shows_camera.append(bool(difference <= 1))

    run = LiveRun(INPUT, model, "null", config, on_output=on_output, keep_original=True, control=control)
    stream = threading.Thread(target=run_live, args=(run, lambda line: None))
    stream.start()
    while len(shows_camera) < 60:
        time.sleep(0.1)
    marks = []
    for i in range(changes):
        opacity = 0.0 if i % 2 == 0 else 1.0
        marks.append((len(shows_camera), opacity == 0.0))
        control.update(with_opacity(opacity))
        time.sleep(interval_s)
    control.stop.set()
    stream.join()
    old_frames = []
    for start, wanted in marks:
        later = shows_camera[start:]
        old_frames.append(next(i for i, shows in enumerate(later) if shows is wanted))
    return {
        "changes": len(old_frames),
        "old_frames_after_change": {str(n): old_frames.count(n) for n in sorted(set(old_frames))},
        "max_old_frames": max(old_frames),
        "median_old_frames": statistics.median(old_frames),
    }


def _model(folder: Path) -> str:
    import onnx

    from .model import preset_graph

    path = folder / "live_int8.onnx"
    onnx.save(preset_graph("live", "int8"), str(path))
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.studio", description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="swap model (default: the live preset in int8, untrained weights)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or _model(Path(tmp))
        common = ["--input", INPUT, "--model", model, "--output", "null"]
        pairs = []
        for _ in range(args.repeat):
            live = run_swapcam_live([*common, "--seconds", str(args.seconds)])
            studio = studio_run(common, args.seconds)
            extra = {key: studio[key] for key in ("preview_fps", "browser_cpu_cores")}
            pairs.append({"live": _summary(live), "studio": _summary(studio) | extra})
        latency = change_latency(model, args.changes)
    results: Results = {"machine": machine(), "model": Path(model).name, "pairs": pairs, "change": latency}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "studio.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(markdown(results)))
    return 0


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "fps": report["fps"],
        **report["latency_ms"],
        "dropped": report["frames_dropped"],
        "frames": report["frames"],
        "cpu_cores": report["cpu_cores"],
        "shed": (report.get("shed") or {}).get("in_force_at_end"),  # the frame budget's steps at the end
    }


def markdown(results: Results) -> list[str]:
    lines = [
        "| run | fps | latency p50 / p95 / p99 ms | dropped | CPU cores | browser CPU cores | preview fps on the page |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ("live", "studio"):
        runs = [pair[kind] for pair in results["pairs"]]
        keys = ("fps", "p50", "p95", "p99", "dropped", "cpu_cores")
        med = {key: statistics.median(r[key] for r in runs) for key in keys}
        page = "– | –"
        if kind == "studio":
            page = " | ".join(
                f"{statistics.median(r[key] for r in runs):.2g}" for key in ("browser_cpu_cores", "preview_fps")
            )
        lines.append(
            f"| `swapcam {kind}` | {med['fps']:.1f} | {med['p50']:.1f} / {med['p95']:.1f} / {med['p99']:.1f} | "
            f"{med['dropped']:.0f} | {med['cpu_cores']:.2f} | {page} |"
        )
    lines.append("")
    lines.append("Each run: " + "; ".join(
        f"live {p['live']['fps']:.1f} fps p95 {p['live']['p95']:.1f} ({p['live']['frames']} frames), "
        f"studio {p['studio']['fps']:.1f} fps p95 {p['studio']['p95']:.1f} ({p['studio']['frames']} frames)"
        for p in results["pairs"]
    ) + ".")  # fmt: skip
    change = results["change"]
    lines += [
        "",
        f"Setting change ({change['changes']} opacity switches): frames output after the change that still "
        f"showed the old value: {change['old_frames_after_change']} (max {change['max_old_frames']}, median "
        f"{change['median_old_frames']}).",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
