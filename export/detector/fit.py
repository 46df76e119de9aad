"""Training the detector: real crops against their self-blended versions and against swaps, with
what a call does drawn at random; then the threshold that flags 1 % of held-out real windows.

The core is :func:`batch` (crop sets in, one labelled batch out); :func:`fit` is the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from .augment import degrade
from .crops import CropSet
from .net import DetectorNet
from .selfblend import self_blend


@dataclass(frozen=True)
class FitSettings:
    iterations: int = 600
    batch: int = 48
    lr: float = 2e-3
    swap_share: float = 0.5  # of the fake half: swaps (the rest self-blended); 0 = self-blended only
    seed: int = 0
    threads: int = 2


def _pool(sets: Sequence[CropSet]) -> tuple[np.ndarray, np.ndarray]:
    crops = [s.crops for s in sets if len(s.crops)]
    marks = [s.landmarks for s in sets if len(s.crops)]
    return np.concatenate(crops), np.concatenate(marks)


def batch(
    real: tuple[np.ndarray, np.ndarray],
    swaps: np.ndarray | None,
    size: int,
    swap_share: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Half real crops, half fakes (self-blended from real crops, or swaps at ``swap_share``), each
    degraded at random. real: (crops (N, S, S, 3) uint8, landmarks (N, 468, 2)); swaps (M, S, S, 3)
    uint8 or None. Returns faces (size, S, S, 3) float32 0..1 and labels (size,) float32 (1 = fake)."""
    crops, marks = real
    faces, labels = [], []
    for k in range(size):
        fake = k % 2 == 1
        if fake and swaps is not None and len(swaps) and rng.random() < swap_share:
            face = swaps[rng.integers(len(swaps))]
        else:
            i = rng.integers(len(crops))
            face = self_blend(crops[i], marks[i], rng) if fake else crops[i]
        faces.append(degrade(face, rng))
        labels.append(float(fake))
    return np.stack(faces).astype(np.float32) / 255.0, np.array(labels, np.float32)


def fit(
    real: Sequence[CropSet],
    swaps: Sequence[CropSet],
    settings: FitSettings,
    start: dict[str, torch.Tensor] | None = None,
    progress: bool = True,
) -> DetectorNet:
    """Train a :class:`DetectorNet`, fresh or from the weights ``start`` (train mode off at the end)."""
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    pool = _pool(real)
    swap_crops = _pool(swaps)[0] if settings.swap_share > 0 and any(len(s.crops) for s in swaps) else None
    net = DetectorNet()
    if start is not None:
        net.load_state_dict(start)
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=settings.iterations)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    net.train()
    bar = tqdm(range(settings.iterations), desc="train-detector", unit="it", disable=not progress)
    for _ in bar:
        faces, labels = batch(pool, swap_crops, settings.batch, settings.swap_share, rng)
        loss = loss_fn(net(torch.from_numpy(faces)), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    net.eval()
    return net


def scores(net: DetectorNet, crops: np.ndarray, chunk: int = 256) -> np.ndarray:
    """crops (N, S, S, 3) uint8 → (N,) float32 probabilities, with PyTorch (the ONNX file computes the same)."""
    out = []
    with torch.no_grad():
        for start in range(0, len(crops), chunk):
            faces = torch.from_numpy(crops[start : start + chunk].astype(np.float32) / 255.0)
            out.append(torch.sigmoid(net(faces)).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def window_means(frame_scores: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Per 1-s window the mean of its faces' scores (what swapcam verify calls the window's score)."""
    return np.array([frame_scores[windows == w].mean() for w in np.unique(windows)], np.float64)


def threshold_at(real_windows: np.ndarray, false_rate: float = 0.01, floor: float = 0.5) -> float:
    """The score that flags ``false_rate`` of the given real windows, never under ``floor``."""
    if not len(real_windows):
        return floor
    return float(max(floor, np.quantile(real_windows, 1.0 - false_rate)))
