"""Crop sets of a clip and of its swaps, each clean and after what a call does, cached in a work
folder: ``WORK/swaps/NAME.MODEL.mp4`` (``swapcam live`` output) and ``WORK/crops/NAME[.MODEL].VARIANT.npz``.
A cached file is reused, so the benchmark and a rebuild pay for FaceMesh and the swaps once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .clips import DEGRADATIONS, read_frames, swap_clip
from .crops import CropSet, crop_set


@dataclass(frozen=True)
class ClipSets:
    """real[variant]: the clip's own faces; swaps[(model, variant)]: its faces swapped by each model."""

    name: str
    real: dict[str, CropSet]
    swaps: dict[tuple[str, str], CropSet]


def _variant_sets(clip: Path, stem: str, work: Path, variants: Sequence[str], step: int) -> dict[str, CropSet]:
    out: dict[str, CropSet] = {}
    frames = None
    for variant in variants:
        path = work / "crops" / f"{stem}.{variant}.npz"
        if not path.exists():
            if frames is None:
                frames = read_frames(clip)
            path.parent.mkdir(parents=True, exist_ok=True)
            crop_set(DEGRADATIONS[variant](frames[0], frames[1]), frames[1], step, f"{stem}.{variant}").save(path)
        out[variant] = CropSet.load(path)
    return out


def clip_sets(
    clip: Path, name: str, work: Path, models: dict[str, Path], variants: Sequence[str] = ("clean",), step: int = 2
) -> ClipSets:
    """The crop sets of ``clip`` (called ``name``) and of its swap by each of ``models`` (name → file)."""
    real = _variant_sets(clip, name, work, variants, step)
    swaps: dict[tuple[str, str], CropSet] = {}
    for model_name, model in models.items():
        swapped = work / "swaps" / f"{name}.{model_name}.mp4"
        if not swapped.exists():
            swapped.parent.mkdir(parents=True, exist_ok=True)
            swap_clip(clip, model, swapped)
        for variant, crops in _variant_sets(swapped, f"{name}.{model_name}", work, variants, step).items():
            swaps[(model_name, variant)] = crops
    return ClipSets(name, real, swaps)
