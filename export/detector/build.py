"""``swapcam train-detector``: rebuild the shipped detector from synthetic people only.

Steps: render ``people`` random synthetic people (``frames_each`` consecutive frames each, 640x480,
20 people a clip) and ``calibration`` more; swap the clips with the given swap models (the demo
model by default) through ``swapcam live``; crop every second frame, clean and after H.264 at
1 Mbit/s and half size; train on real crops against self-blended crops and swaps; set the threshold
at the score that flags 1 % of the calibration people's real 1-s windows (at least 0.5); write the
ONNX file with its card. No real person's data goes in: the card lists what did.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swapcam.realtime.provenance.detector import CROP_COVERAGE, CROP_SIZE, DETECTOR_MODEL
from swapcam.realtime.run.demo import DEMO_MODEL

from .clips import render_crowd
from .crops import CropSet
from .fit import FitSettings, fit, scores, threshold_at, window_means
from .sets import ClipSets, clip_sets
from .settings import DetectorSettings
from .write import write_detector

FIRST_SEED = 5000  # far from the seeds swapcam pretrain and the demo model rendered (0-47)
VARIANTS = ("clean", "h264_1m_half")
WEIGHTS = "detector.pt"  # in the work folder
CROWD = 20  # synthetic people a clip


@dataclass
class Training:
    """What a detector is trained on and calibrated with (names for its card)."""

    real: list[CropSet] = field(default_factory=list)
    swaps: list[CropSet] = field(default_factory=list)
    calibration: list[CropSet] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def synthetic_sets(work: Path, seeds: range, frames_each: int, models: dict[str, Path]) -> list[ClipSets]:
    """Crop sets of random synthetic people ``seeds`` (crowd clips of CROWD people) and of their
    swaps by ``models``."""
    out = []
    for first in range(seeds.start, seeds.stop, CROWD):
        name = f"crowd-{first}-{frames_each}"
        clip = work / "synthetic" / f"{name}.mp4"
        if not clip.exists():
            clip.parent.mkdir(parents=True, exist_ok=True)
            render_crowd(range(first, min(first + CROWD, seeds.stop)), frames_each, clip)
        out.append(clip_sets(clip, name, work, models, VARIANTS))
    return out


def add(training: Training, sets: list[ClipSets], calibration: bool = False) -> Training:
    """Put the real and swapped crop sets of ``sets`` into ``training`` (or its calibration)."""
    for clip in sets:
        if calibration:
            training.calibration += [clip.real["clean"]]
            continue
        training.real += list(clip.real.values())
        training.swaps += list(clip.swaps.values())
        training.names.append(clip.name)
    return training


def train_and_write(
    training: Training,
    fit_settings: FitSettings,
    card: dict[str, Any],
    out: Path,
    weights: Path,
    start: Path | None = None,
    min_threshold: float = 0.5,
) -> Path:
    """Fit (from the weights in ``start``, when given), calibrate on ``training.calibration``, write
    the ONNX file with ``card``, and the PyTorch weights to ``weights`` (what a fine-tune starts from)."""
    net = fit(training.real, training.swaps, fit_settings, torch.load(start) if start else None)
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), weights)
    windows = np.concatenate(
        [window_means(scores(net, s.crops), s.windows()) for s in training.calibration if len(s.crops)]
    )
    threshold = threshold_at(windows, floor=min_threshold)
    card = {
        **card,
        "threshold": round(threshold, 4),
        "fit": asdict(fit_settings),
        "crop": {"size": CROP_SIZE, "coverage": CROP_COVERAGE},
        "threshold_rule": (
            f"flags 1 % of {len(windows)} held-out synthetic 1-s windows, at least {min_threshold} (the floor "
            "was set by the benchmark on real clips, whose windows score far above synthetic ones)"
        ),
        "built": datetime.date.today().isoformat(),
    }
    return write_detector(net, card, out)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def build(
    work: Path, settings: DetectorSettings, models: dict[str, Path] | None = None, out: Path = DETECTOR_MODEL
) -> Path:
    """The shipped recipe (see the module's docstring); returns ``out``."""
    models = models or {"demo": DEMO_MODEL}
    train_seeds = range(FIRST_SEED, FIRST_SEED + settings.people)
    calibration_seeds = range(train_seeds.stop, train_seeds.stop + settings.calibration)
    training = add(Training(), synthetic_sets(work, train_seeds, settings.frames_each, models))
    training = add(training, synthetic_sets(work, calibration_seeds, settings.frames_each, {}), calibration=True)
    card = {
        "trained_on": f"{settings.people} random synthetic people of swapcam's generator (seeds "
        f"{train_seeds.start}-{train_seeds.stop - 1}, {settings.frames_each} frames each, clean and H.264 1 Mbit/s at "
        "half size), their self-blended faces and their swaps by the models below; no real person",
        "swap_models": {name: {"file": path.name, "sha256": _sha(path)} for name, path in models.items()},
        "calibrated_on": f"synthetic seeds {calibration_seeds.start}-{calibration_seeds.stop - 1}",
        "command": "swapcam train-detector",
    }
    fit_settings = FitSettings(iterations=settings.iterations, swap_share=settings.swap_share, seed=settings.seed)
    return train_and_write(training, fit_settings, card, out, work / WEIGHTS, min_threshold=settings.min_threshold)
