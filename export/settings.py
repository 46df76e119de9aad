"""Settings of ``swapcam train`` and the named choices of training and export, without torch.

Every swapcam invocation builds every subcommand's parser, so what the parsers need lives here and
imports no torch (a test checks). Each choice is declared once, as a name and a one-line
description in a registry below; the CLI's ``choices`` and help texts come from that declaration,
and the torch side attaches its implementation to the same names (a test checks the names agree):

* :data:`PIXEL_LOSSES` → ``losses.PIXEL_LOSS_FUNCTIONS``;
* :data:`TRAIN_PRECISIONS` → ``device.AUTOCAST_DTYPES`` (and ``auto``, resolved by ``device.choose_precision``);
* :data:`DEVICES` → ``device.choose_device``;
* :data:`EXPORT_PRECISIONS` → ``onnx_export.PRECISION_CONVERTERS``;
* architectures and presets: :mod:`swapcam.export.dims`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.registry import Registry
from swapcam.realtime.core.settings import Settings, setting
from swapcam.realtime.stages.color import COLOR_TRANSFERS

from .dims import (
    ARCHITECTURES,
    BASE_AUTO,
    BASE_NONE,
    DEFAULT_PRESET,
    PRESET_NOTES,
    PRESETS,
    SHIPPED_BASES,
    ModelDims,
    flag,
)


def declare(kind: str, descriptions: dict[str, str]) -> Registry[str]:
    """A registry of names, each holding its one-line description."""
    registry: Registry[str] = Registry(kind)
    for name, description in descriptions.items():
        registry.register(name)(description)
    return registry


def listing(choices: Registry[str]) -> str:
    """``name (description), …`` for a help text."""
    return ", ".join(f"{name} ({choices.get(name)})" for name in choices)


PIXEL_LOSSES = declare("pixel loss", {"mse": "mean squared error", "l1": "mean absolute error"})
TRAIN_PRECISIONS = declare(
    "training precision",
    {
        "auto": "bf16 autocast on CUDA, fp16 on GPUs without bf16; on CPUs bf16 where they compute it in hardware "
        "(AVX512-BF16, AMX), else fp32",
        "fp32": "no autocast",
        "bf16": "bfloat16 autocast",
        "fp16": "float16 autocast with loss scaling, CUDA only",
    },
)
DEVICES = declare(
    "training device",
    {
        "auto": "cuda when torch sees a GPU, else cpu",
        "cpu": "see --threads",
        "cuda": "a CUDA GPU, one per process under torchrun",
    },
)
EXPORT_PRECISIONS = declare(
    "export precision", {"fp32": "any provider", "fp16": "for GPU providers", "int8": "for fast CPUs; needs --faceset"}
)


@dataclass(frozen=True)
class ModelSettings(Settings):
    """Which model to train: a preset, optionally with some of its dims overridden (None = the preset's).

    Construction checks the overrides by building :class:`ModelDims` from them (the one place dims
    are checked), so a bad value fails whichever source it came from.
    """

    section = "model"
    preset: str | None = setting(
        None, f"model preset: {listing(PRESET_NOTES)}; default {DEFAULT_PRESET}, or the checkpoint's when resuming"
    )
    arch: str | None = setting(None, f"override the preset's architecture: {' or '.join(ARCHITECTURES)}")
    resolution: int | None = setting(None, "override the face resolution (multiple of 16)")
    encoder_dims: int | None = setting(None, "override the first encoder stage's channels")
    inter_dims: int | None = setting(None, "override the bottleneck width")
    decoder_dims: int | None = setting(None, "override the last decoder stage's channels")
    mask_dims: int | None = setting(None, "override the mask decoder's last stage channels")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.apply(PRESETS.get(self.preset or DEFAULT_PRESET))

    def overrides(self) -> dict[str, Any]:
        """The dims given, by ModelDims field name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "preset" and getattr(self, f.name) is not None
        }

    def apply(self, dims: ModelDims) -> ModelDims:
        return dataclasses.replace(dims, **self.overrides())

    def resolve(self, saved: dict | None, checkpoint: Path | None) -> tuple[str, ModelDims]:
        """(preset name, dims) from the preset and overrides, or from the ``model`` entry of the checkpoint
        being resumed or the base started from; UserError when the settings ask for another model."""
        if saved is None:
            preset = self.preset or DEFAULT_PRESET
            return preset, self.apply(PRESETS.get(preset))
        preset, dims = saved["preset"], ModelDims(**saved["dims"])
        if self.preset is not None and self.preset != preset:
            raise UserError(
                f"{checkpoint} was trained with preset {preset}, not {self.preset}: "
                f"drop --preset (the model stays {preset}), or start from another one"
            )
        for name, value in self.overrides().items():
            if getattr(dims, name) != value:
                raise UserError(
                    f"{checkpoint} has {flag(name)} {getattr(dims, name)}, not {value}: drop "
                    f"{flag(name)} (the model keeps its own), or start from another one"
                )
        return preset, dims


@dataclass(frozen=True)
class TrainSettings(Settings):
    section = "train"
    iterations: int = setting(0, "stop at this iteration count (counted over resumes; 0 = no limit)", low=0)
    minutes: float = setting(0.0, "stop after this many minutes of this session (0 = no limit)", low=0.0)
    batch_size: int = setting(8, "faces per identity per step (per process under torchrun)", low=1, high=1024)
    base: str = setting(
        BASE_AUTO,
        f"what a new run's weights start from: {BASE_AUTO} (the preset's shipped base, pretrained on synthetic "
        f"people: {', '.join(SHIPPED_BASES)}; else random), {BASE_NONE} (random), or a file from swapcam pretrain",
    )
    lr: float = setting(2e-4, "peak learning rate (AdamW)", low=1e-7, high=1e-1)
    weight_decay: float = setting(0.01, "AdamW weight decay", low=0.0, high=1.0)
    warmup: int = setting(200, "iterations of linear learning-rate warmup", low=0)
    decay_iterations: int = setting(
        100_000, "iterations of cosine decay after the warmup; the rate then stays at --lr-floor × --lr", low=1
    )
    lr_floor: float = setting(0.1, "final learning rate as a fraction of --lr", low=0.0, high=1.0)
    clip_grad: float = setting(1.0, "clip the gradient norm to this (0 = no clipping)", low=0.0)
    pixel_loss: str = setting("mse", f"pixel loss next to DSSIM: {listing(PIXEL_LOSSES)}", choices=tuple(PIXEL_LOSSES))
    masked: bool = setting(True, "learn only the face inside the (softened) faceset mask, not the background")
    eyes_mouth: bool = setting(False, "extra weight on the eyes and mouth (sharper gaze and teeth)")
    gan_power: float = setting(
        0.0, "weight of the patch-GAN term (0 = off; 0.1 is a usual start once faces are sharp)", low=0.0, high=10.0
    )
    gan_dims: int = setting(16, "patch discriminator width", low=4, high=512)
    # Off by default, measured (benchmarks/RESULTS.md, 2026-12-02): with it on, a live model trained 10
    # CPU minutes on d6 stayed a blurred average face at 20.3 dB held-out PSNR whatever the learning
    # rate or colour transfer; with it off the same budget reached 25.7 dB, followed the expressions,
    # and its swaps still showed the source in every frame of three other people.
    random_warp: bool = setting(
        False,
        "randomly warp the input faces, DeepFaceLab's regulariser (slows learning "
        "a lot in the first hours; worth trying only for long runs)",
    )
    flip_source: bool = setting(False, "randomly mirror source faces (off: keeps asymmetric features)")
    flip_target: bool = setting(True, "randomly mirror target faces")
    color_jitter: float = setting(0.1, "brightness/contrast/saturation jitter strength", low=0.0, high=0.5)
    # none by default: the live pipeline matches the swapped face's colour to the camera's anyway
    # (--color), and without warp rct cost ~1 dB held-out PSNR at 5 minutes (RESULTS.md)
    ct: str = setting(
        "none", "recolour source faces toward target faces while training", choices=tuple(COLOR_TRANSFERS)
    )
    uniform_yaw: bool = setting(False, "sample head yaw uniformly (helps when profiles are rare)")
    seed: int = setting(0, "random seed (weights, faces and augmentation)", low=0)
    workers: int = setting(2, "data loading processes (0 = in the training process)", low=0, high=64)
    threads: int = setting(0, "CPU threads for training (0 = all cores, shared among local processes)", low=0)
    device: str = setting("auto", f"training device: {listing(DEVICES)}", choices=tuple(DEVICES))
    precision: str = setting(
        "auto", f"autocast precision: {listing(TRAIN_PRECISIONS)}", choices=tuple(TRAIN_PRECISIONS)
    )
    checkpoint_every: int = setting(500, "save a checkpoint every N iterations", low=1)
    preview_every: int = setting(200, "write a preview grid every N iterations", low=1)


@dataclass(frozen=True)
class PretrainSettings(Settings):
    """What goes into the pretraining pool (the model and training settings say how it is trained)."""

    section = "pretrain"
    identities: int = setting(48, "random synthetic people rendered into the pool (0 = only --faceset)", low=0)
    faces_per_identity: int = setting(50, "faces extracted of each synthetic person", low=1, high=100_000)
    first_seed: int = setting(1000, "seed of the first synthetic person; the others count up from it", low=0)
