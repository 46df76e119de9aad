"""``swapcam train``: a run set up from its start point and facesets, and the loop that trains it
until a budget is spent or a stop is requested.

One process trains on one device; ``torchrun --nproc_per_node=K -m swapcam.export.train …`` (same
arguments as ``swapcam train``) runs K processes under DistributedDataParallel, NCCL on GPUs and gloo
on CPUs, across nodes with torchrun's usual flags. Only rank 0 writes previews, logs and checkpoints
(multi-node resumes need RUN_DIR on a shared file system).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as torch_dist
from tqdm import tqdm

from swapcam.realtime.core.errors import UserError

from ..coverage import coverage
from ..data import FacePool, PairDataset, make_loader, open_facesets
from ..device import Distributed, choose_device
from ..faceset import Faceset
from ..holdout import Holdout
from ..models import SwapModel
from ..settings import ModelSettings, TrainSettings
from .checkpoint import CHECKPOINT_NAME, checkpoint_state, save_checkpoint
from .log import RunLog
from .start import find_start
from .stop import StopRequest, stop_reason
from .trainer import Trainer


@dataclass(frozen=True)
class TrainRun:
    """What to train on and where (the settings say how)."""

    source: Path
    targets: Sequence[Path]
    out: Path
    resume: Path | None = None  # checkpoint to continue from
    more_sources: Sequence[Path] = ()  # more facesets of the source side (pretraining's pool)
    holdout: Path | None = None  # source faces kept out of training: their PSNR goes to holdout.csv
    source_name: str | None = None  # model-card names; default: faceset folder names
    target_names: Sequence[str] | None = None
    progress: bool = True


@dataclass
class TrainResult:
    iterations: int
    reason: str  # why training stopped
    checkpoint: Path
    model: SwapModel  # unwrapped, on the training device
    rank: int


def train(run: TrainRun, model_settings: ModelSettings, settings: TrainSettings) -> TrainResult:
    """Train until the iteration or time budget is spent or a stop is requested (Ctrl-C, SIGTERM).

    Under torchrun (WORLD_SIZE > 1) the process group is set up and torn down here.
    """
    dist = Distributed.from_env()
    device = choose_device(settings, dist)
    if dist.enabled:
        torch_dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return _train(run, model_settings, settings, dist, device)
    finally:
        if dist.enabled:
            torch_dist.destroy_process_group()


def _train(
    run: TrainRun, model_settings: ModelSettings, settings: TrainSettings, dist: Distributed, device: torch.device
) -> TrainResult:
    start = find_start(run.resume, run.out, model_settings, settings)
    trained_on = start.trained_on()
    preset, dims = model_settings.resolve(trained_on["model"] if trained_on else None, start.path)
    source_set, others = open_facesets(run.source, [*run.more_sources, *run.targets], dims.resolution)
    more_sets, target_sets = others[: len(run.more_sources)], others[len(run.more_sources) :]
    info = source_set.info
    start, start_note = start.fit(info)
    target_names = list(run.target_names or [t.folder.name for t in target_sets])
    if len(target_names) != len(target_sets):
        raise UserError(f"{len(target_names)} --target-name for {len(target_sets)} --target: give one name per target")

    trainer = Trainer(dims, settings, device, dist)
    if start.resumed is not None:
        trainer.load_state(start.resumed)
    elif start.base is not None:
        trainer.model.load_state_dict(start.base["weights"])
    source_pool = FacePool([source_set, *more_sets], dims.resolution, settings.uniform_yaw)
    target_pool = FacePool(target_sets, dims.resolution, settings.uniform_yaw)
    dataset = PairDataset(source_pool, target_pool, settings.ct, settings.seed, dist.rank)
    loader = make_loader(
        dataset,
        settings.batch_size,
        start.iteration * settings.batch_size,
        settings.workers,
        pin_memory=device.type == "cuda",
    )
    pools = {"source_faces": len(source_pool), "target_faces": len(target_pool), "target_facesets": len(target_sets)}
    card = {
        "resolution": dims.resolution,
        "coverage": info.coverage,
        "y_offset": info.y_offset,
        "preset": preset,
        "architecture": dims.arch,
        "identities": [run.source_name or source_set.folder.name, *target_names],
        "training_data": start.training_data(pools),
    }
    checkpoint_path = run.out / CHECKPOINT_NAME

    def checkpoint(iteration: int) -> None:
        save_checkpoint(checkpoint_path, checkpoint_state(iteration, settings, preset, dims, card, trainer.state()))

    log = None  # made by the writing process alone
    if dist.rank == 0:
        _announce(start_note, start.resumed is None, source_set, target_sets)
        holdout = Holdout(run.holdout, dims.resolution, info) if run.holdout is not None else None
        log = RunLog(run.out, trainer, (source_pool, target_pool), holdout, start.iteration)
    iteration, reason = _loop(trainer, loader, settings, start.iteration, checkpoint, log, run.progress)
    return TrainResult(iteration, reason, checkpoint_path, trainer.model, dist.rank)


def _announce(start_note: str | None, new_run: bool, source: Faceset, targets: Sequence[Faceset]) -> None:
    """Say what the weights start from and, on a new run, the poses and expressions the source lacks."""
    if start_note is not None:
        tqdm.write(f"swapcam train: {start_note}")
    if new_run:  # what the source lacks, said before the hours of training, not after
        for line in coverage(source, targets).gap_lines():
            tqdm.write(f"swapcam train: coverage: {line} (swapcam faceset-report draws it)")


def _loop(
    trainer: Trainer,
    loader: Iterable[dict[str, torch.Tensor]],
    settings: TrainSettings,
    iteration: int,
    checkpoint: Callable[[int], None],
    log: RunLog | None,
    progress: bool,
) -> tuple[int, str]:
    """Step from ``iteration`` until a budget is spent or a stop is requested on any rank; the writing
    process (the one with a ``log``) logs every step and writes previews and checkpoints. Returns the
    iteration reached and why training stopped."""
    bar = tqdm(
        initial=iteration,
        total=settings.iterations or None,
        unit="it",
        dynamic_ncols=True,
        disable=not (progress and log is not None),
        desc="train",
    )
    started, saved_at, reason = time.monotonic(), iteration, "interrupted"
    batches: Iterator = iter(loader)
    try:
        with StopRequest() as stop:
            while True:
                why = stop_reason(settings, iteration, time.monotonic() - started, stop.requested)
                if trainer.dist.any(why is not None, trainer.device):
                    reason = why or "stopped by another process"
                    break
                lr = float(trainer.scheduler.get_last_lr()[0])  # the rate this step uses
                losses = trainer.step(next(batches), iteration)
                iteration += 1
                if log is None:
                    continue
                log.losses.write(iteration, time.monotonic() - started, lr, losses)
                _show(bar, losses)
                if iteration % settings.preview_every == 0:
                    log.preview(iteration, started)
                if iteration % settings.checkpoint_every == 0:
                    checkpoint(iteration)
                    saved_at = iteration
        if log is not None and iteration != saved_at:
            checkpoint(iteration)
            if iteration % settings.preview_every:  # else the loop has just written this iteration's
                log.preview(iteration, started)
    finally:
        bar.close()
        if log is not None:
            log.close()
        del batches  # shuts the loader's workers down
    return iteration, reason


def _show(bar: tqdm, losses: dict[str, float]) -> None:
    """One more step on the progress bar, with the step's reconstruction and mask losses."""
    bar.update(1)
    bar.set_postfix(
        src=f"{losses['source_dssim'] + losses['source_pixel']:.3f}",
        dst=f"{losses['target_dssim'] + losses['target_pixel']:.3f}",
        mask=f"{losses['source_mask'] + losses['target_mask']:.3f}",
        refresh=False,
    )
