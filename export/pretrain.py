"""``swapcam pretrain``: a base model that ``swapcam train --base`` starts from.

DeepFaceLab users start from a model pretrained on many faces and fine-tune it on their pair. A
swapcam base is the same model (same preset and dims) trained with one pool of many people on both
sides: synthetic people from swapcam's generator (varied identity, pose, expression and light, no
real person), plus any facesets the user adds. ``swapcam train --base DIR/base.pt.gz`` loads all of
its weights (encoder, bottleneck, both decoders) and learns the pair from there with a fresh
optimizer and schedule; the model card counts the base's faces and iterations under
``training_data``. swapcam ships the ``live`` preset's base, made by this command with its defaults
(``--preset live --iterations 3600``: synthetic people only); ``--base auto`` starts from it.

The base file's format is :mod:`swapcam.export.base`'s.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from swapcam.realtime.core.errors import UserError

from .base import base_state, write_base
from .dims import BASE_AUTO, BASE_NONE
from .extract import ExtractSettings, extract
from .settings import ModelSettings, PretrainSettings, TrainSettings
from .training.checkpoint import CHECKPOINT_NAME, read_checkpoint
from .training.loop import TrainRun, train

BASE_NAME = "base.pt.gz"
SYNTHETIC_FOLDER = "synthetic"
RENDER_SIZE = "640x480"  # frames of the generator: the face fills ~40 % of the height, like a webcam


def synthetic_inputs(settings: PretrainSettings) -> list[str]:
    """The generator input of each synthetic person of the pool (``swapcam extract --input`` specs)."""
    return [
        f"synthetic:identity=random,seed={settings.first_seed + k},size={RENDER_SIZE}"
        for k in range(settings.identities)
    ]


def build_pool(
    out: Path, settings: PretrainSettings, facesets: Sequence[Path], crop: int, progress: bool
) -> list[Path]:
    """The pool's facesets: the synthetic one (rendered once into OUT/synthetic), then the user's."""
    pool = []
    if settings.identities:
        folder = out / SYNTHETIC_FOLDER
        done = folder / "done"
        if not done.exists():  # a half-written folder from an interrupted run is rendered again
            if folder.exists():
                shutil.rmtree(folder)
            extract(
                synthetic_inputs(settings),
                folder,
                ExtractSettings(resolution=crop, count=settings.faces_per_identity),
                progress=progress,
            )
            done.write_text("")
        pool.append(folder)
    for path in facesets:
        if not Path(path).is_dir():
            raise UserError(f"faceset {path} does not exist: check --faceset, or make one with swapcam extract")
        pool.append(Path(path))
    if not pool:
        raise UserError("the pool is empty: keep --identities above 0 or add --faceset DIR")
    return pool


def pretrain(
    out: Path,
    facesets: Sequence[Path],
    settings: PretrainSettings,
    model_settings: ModelSettings,
    train_settings: TrainSettings,
    resume: bool = False,
    progress: bool = True,
) -> Path | None:
    """Render the pool, train on it (every faceset on both sides), write OUT/base.pt.gz; its path, or
    None on a non-writing rank under torchrun."""
    run_dir = out / "run"
    if (run_dir / CHECKPOINT_NAME).exists() and not resume:
        raise UserError(f"{out} already holds a pretraining run: add --resume to continue it, or choose a new --out")
    if train_settings.base == BASE_AUTO:  # the pool is learned from random weights unless a base is named
        train_settings = train_settings.replace(base=BASE_NONE)
    _, dims = model_settings.resolve(None, None)
    pool = build_pool(out, settings, facesets, max(256, 2 * dims.resolution), progress)
    names = [path.name for path in pool]
    run = TrainRun(
        source=pool[0],
        more_sources=pool[1:],
        targets=pool,
        out=run_dir,
        resume=run_dir / CHECKPOINT_NAME if resume else None,
        source_name="pretrain pool",
        target_names=names,
        progress=progress,
    )
    result = train(run, model_settings, train_settings)
    if result.rank != 0:
        return None
    path = out / BASE_NAME
    write_base(path, base_state(read_checkpoint(result.checkpoint)))
    return path
