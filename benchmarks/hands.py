"""Hands in front of the face: how soon a hand that comes up over the face is masked, the error under
it afterwards, and what the search costs (``python -m benchmarks --only hands``).

The synthetic camera raises a hand over bo's lower face every 5 s, with its exact mask. For each
raise, the frame the hand first covers ``MIN_COVER`` of the face is its entry; the hand counts as
masked from the first frame whose output keeps the hand (mean grey-level error under it below
``MASKED_BELOW``, against about 12 when the swap paints over it). The runs differ only in
``--hand-search-every``: 1 looks for hands in every frame (the first wave's behaviour), the default
only every few frames while none is tracked.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from swapcam.realtime.provenance.label import ProvenanceSettings
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.demo import DEMO_MODEL
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.processor import Processed
from swapcam.realtime.sinks.base import OutputSettings
from swapcam.realtime.sources.base import CaptureSettings
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.occlusion import OcclusionSettings

from .common import Results
from .quality_metrics import hull_mask

INPUT = "synthetic:identity=bo,seed=5,occluder=hand,size=1280x720"
MIN_COVER = 0.02  # of the face's hull: a hand grazing the jaw is not an entry yet
MASKED_BELOW = 6.0  # grey levels under the hand


def _swap(every: int, frames: int) -> tuple[list[np.ndarray], dict[str, Any], float]:
    """The outputs of ``frames`` frames, the run report, and the CPU seconds the run took."""
    outputs: list[np.ndarray] = []

    def keep(result: Processed) -> None:
        outputs.append(result.image.copy())

    config = LiveConfig(
        capture=CaptureSettings(pace="every"),
        occlusion=OcclusionSettings(hand_search_every=every),
        output=OutputSettings(label=""),
        provenance=ProvenanceSettings(watermark=False),
    )
    config = config.replace(pipeline=config.pipeline.replace(max_frames=frames))
    cpu = time.process_time()
    report = run_live(LiveRun(INPUT, DEMO_MODEL, "null", config, on_output=keep), log=lambda line: None)
    return outputs, report, time.process_time() - cpu


def entries(cover: np.ndarray) -> list[int]:
    """Frames where the hand's share of the face first reaches MIN_COVER after being below it."""
    above = cover >= MIN_COVER
    return [i for i in range(1, len(cover)) if above[i] and not above[i - 1]]


def frames_to_mask(error: np.ndarray, cover: np.ndarray, start: int) -> int | None:
    """Frames from ``start`` until the output keeps the hand (None: not while it stays up)."""
    for k in range(start, len(error)):
        if cover[k] < MIN_COVER:
            return None
        if error[k] < MASKED_BELOW:
            return k - start
    return None


def run(quick: bool) -> Results:
    frames = 160 if quick else 450
    video = SyntheticVideo(SyntheticSettings.from_spec(INPUT.partition(":")[2]))
    truth = [video.frame(i) for i in range(frames)]
    hulls = [hull_mask(f.landmarks, f.image.shape) for f in truth]
    cover = np.array([(f.occluder & h).sum() / max(h.sum(), 1) for f, h in zip(truth, hulls, strict=True)])
    results: Results = {"input": INPUT, "frames": frames, "entries": entries(cover)}
    for every in (1, OcclusionSettings().hand_search_every):
        outputs, report, cpu_s = _swap(every, frames)
        error = np.full(frames, np.nan)
        for i, (f, h, out) in enumerate(zip(truth, hulls, outputs, strict=False)):
            region = f.occluder & h
            if region.any():
                error[i] = float(np.abs(out[region].astype(np.int16) - f.image[region].astype(np.int16)).mean())
        covered = cover >= MIN_COVER
        results[f"every {every}"] = {
            "frames_to_mask": [frames_to_mask(error, cover, start) for start in results["entries"]],
            "error_under_hand": round(float(np.nanmean(error[covered])), 2),
            "occlusion_ms_p50": report["stages_ms"].get("occlusion", {}).get("p50"),
            "mask_ms_p50": report["stages_ms"].get("mask", {}).get("p50"),
            "cpu_s_per_frame_ms": round(1000 * cpu_s / frames, 1),
        }
    return results


def markdown(results: Results) -> list[str]:
    lines = [
        f"{results['frames']} frames of `{results['input']}` through the demo model, every frame processed; "
        f"the hand comes up at frames {results['entries']}.",
        "",
        "| --hand-search-every | frames until masked, per raise | error under the hand (grey levels) | "
        "occlusion / mask ms p50 | CPU ms a frame |",
        "|---|---|---|---|---|",
    ]
    for name, run in results.items():
        if name.startswith("every "):
            lines.append(
                f"| {name.split()[1]} | {run['frames_to_mask']} | {run['error_under_hand']} | "
                f"{run['occlusion_ms_p50']} / {run['mask_ms_p50']} | {run['cpu_s_per_frame_ms']} |"
            )
    return lines
