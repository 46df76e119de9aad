"""``swapcam train``: the training loop, checkpoints, previews and loss logs.

One process trains on one device; ``torchrun --nproc_per_node=K -m swapcam.export.train …`` (same
arguments as ``swapcam train``) runs K processes under DistributedDataParallel, NCCL on GPUs and gloo
on CPUs, across nodes with torchrun's usual flags. Only rank 0 writes previews, logs and checkpoints
(multi-node resumes need RUN_DIR on a shared file system).

Reproducibility: item ``i`` of the data depends only on (seed, rank, i) and the augmentation RNG is
re-seeded from (seed, rank, iteration) every step, so a run resumed from a checkpoint continues
exactly as the uninterrupted run would have, without storing generator states.

Checkpoints (RUN_DIR/checkpoint.pt) are written atomically every ``--checkpoint-every`` iterations, on
Ctrl-C and at the end, and load with ``torch.load(…, weights_only=True)``: tensors and plain
containers only. Besides the training state they hold what the model card needs (no paths).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.distributed as torch_dist
from torch import nn
from tqdm import tqdm

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.files import write_atomic
from swapcam.realtime.core.settings import to_dict
from swapcam.realtime.stages.contract import ModelCard

from .base import base_path, read_base
from .coverage import coverage
from .data import (
    Augmenter,
    Batch,
    Face,
    FacePool,
    PairDataset,
    make_loader,
    open_facesets,
    preview_faces,
    to_tensors,
)
from .device import Distributed, choose_device, choose_precision
from .dims import DEFAULT_PRESET, ModelDims, names_base_file
from .faceset import FacesetInfo
from .holdout import Holdout, HoldoutLog
from .losses import blur_mask, discriminator_loss, generator_gan_loss, reconstruction_losses
from .models import PatchDiscriminator, SwapModel, build_model
from .settings import ModelSettings, TrainSettings

CHECKPOINT_FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"
PREVIEW_FACES = 4


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


# ---------------------------------------------------------------------------------------------- pure parts


def lr_factor(step: int, warmup: int, decay: int, floor: float) -> float:
    """Learning-rate multiplier at ``step``: linear warmup, cosine decay to ``floor``, then ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / decay)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def step_seed(seed: int, rank: int, iteration: int) -> int:
    """The torch seed of one training step: differs per rank, repeats exactly after a resume."""
    return int(np.random.SeedSequence([seed, rank, iteration]).generate_state(1, np.uint64)[0]) >> 1


def preview_grid(rows: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    """Labelled rows of faces → one BGR uint8 image. rows: (label, [K,R,R,3] float 0..1 BGR)."""
    size = rows[0][1].shape[1]
    label_width = max(96, size)
    lines = []
    for label, faces in rows:
        strip = np.full((size, label_width, 3), 32, np.uint8)
        cv2.putText(strip, label, (6, size // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1, cv2.LINE_AA)
        tiles = np.clip(faces * 255 + 0.5, 0, 255).astype(np.uint8)
        lines.append(np.concatenate([strip, *tiles], 1))
    return np.concatenate(lines, 0)


# ------------------------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a kill at any moment leaves the previous checkpoint or the new one, whole."""
    write_atomic(path, functools.partial(torch.save, state), durable=True)


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's contents, on the CPU; UserError when it is missing or not a swapcam checkpoint."""
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist: check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 — any failure to unpickle means the same to the user
        raise UserError(f"checkpoint {path} is not readable ({type(err).__name__}): resume from another one") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{path} is not a swapcam checkpoint of format {CHECKPOINT_FORMAT}: resume from another one")
    return state


def model_card(state: dict) -> ModelCard:
    """The model card of a checkpoint (identities: the source first, then the targets)."""
    card = dict(state["card"])
    card["identities"] = tuple(card["identities"])
    return ModelCard(**card)


def load_model(path: str | Path) -> tuple[SwapModel, ModelCard]:
    """Re-create a trained model (on the CPU, eval mode) and its card from a checkpoint alone."""
    state = read_checkpoint(Path(path))
    model = build_model(ModelDims(**state["model"]["dims"]))
    model.load_state_dict(state["weights"])
    return model.eval(), model_card(state)


# ---------------------------------------------------------------------------------------------- plumbing


class StopRequest:
    """Turns SIGINT/SIGTERM into a flag the loop checks, so the loop can save and exit; a second
    Ctrl-C interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write("swapcam train: stopping: saving a checkpoint (Ctrl-C again to quit without saving)")

    def __enter__(self) -> StopRequest:
        if (
            threading.current_thread() is threading.main_thread()
        ):  # signal handlers can only be installed there (not in e.g. a test thread)
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: Any) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


class LossLog:
    """RUN_DIR/losses.csv (one row per iteration) and TensorBoard when it is installed.

    On resume, rows after the checkpoint's iteration (written before a kill) are dropped so that the
    log matches the weights.
    """

    def __init__(self, folder: Path, columns: Sequence[str], resumed_at: int):
        self.path = folder / "losses.csv"
        self.columns = ["iteration", "seconds", "lr", *columns]
        kept: list[dict[str, str]] = []
        if self.path.exists() and resumed_at > 0:
            with self.path.open(newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if int(row["iteration"]) <= resumed_at]
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, self.columns, restval="", extrasaction="ignore")
        self._writer.writeheader()
        self._writer.writerows(kept)
        self._tensorboard = _tensorboard_writer(folder)

    def write(self, iteration: int, seconds: float, lr: float, losses: dict[str, float]) -> None:
        self._writer.writerow(
            {
                "iteration": iteration,
                "seconds": f"{seconds:.2f}",
                "lr": f"{lr:.3g}",
                **{k: f"{v:.5f}" for k, v in losses.items()},
            }
        )
        self._file.flush()
        if self._tensorboard is not None:
            for key, value in losses.items():
                self._tensorboard.add_scalar(f"loss/{key}", value, iteration)
            self._tensorboard.add_scalar("lr", lr, iteration)

    def close(self) -> None:
        self._file.close()
        if self._tensorboard is not None:
            self._tensorboard.close()


def _tensorboard_writer(folder: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(folder / "tensorboard"))


# ------------------------------------------------------------------------------------------------ training


class Trainer:
    """The models, optimizers and one training step."""

    def __init__(self, dims: ModelDims, settings: TrainSettings, device: torch.device, dist: Distributed):
        self.settings, self.device, self.dist = settings, device, dist
        self.autocast = choose_precision(settings, device)
        # channels-last convolutions were faster on the CPU too: 2.51 -> 2.87 it/s (fp32), 3.38 -> 4.32
        # (bf16) for the live preset's step alone (benchmarks/RESULTS.md)
        self.memory_format = torch.channels_last
        torch.manual_seed(settings.seed)  # identical initial weights on every rank
        # torch's stubs lack Module.to's memory_format keyword (documented, and it works)
        self.model = build_model(dims).to(device, memory_format=self.memory_format)  # type: ignore[call-overload]
        self.discriminator = (
            PatchDiscriminator(settings.gan_dims).to(device, memory_format=self.memory_format)  # type: ignore[call-overload]
            if settings.gan_power > 0
            else None
        )
        self.optimizer = self._adamw(self.model)
        schedule = functools.partial(
            lr_factor, warmup=settings.warmup, decay=settings.decay_iterations, floor=settings.lr_floor
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.d_optimizer = self._adamw(self.discriminator) if self.discriminator is not None else None
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.autocast is torch.float16)
        self.augment = {
            "source": Augmenter(settings.flip_source, settings.color_jitter, settings.random_warp),
            "target": Augmenter(settings.flip_target, settings.color_jitter, settings.random_warp),
        }
        self.model_ddp = self._wrap(self.model)
        self.discriminator_ddp = self._wrap(self.discriminator) if self.discriminator is not None else None

    def _adamw(self, module: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(module.parameters(), lr=self.settings.lr, weight_decay=self.settings.weight_decay)

    def _wrap(self, module: nn.Module) -> nn.Module:
        if not self.dist.enabled:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def loss_names(self) -> list[str]:
        terms = ["dssim", "pixel", "mask"] + (["eyes_mouth"] if self.settings.eyes_mouth else [])
        names = [f"{side}_{t}" for side in ("source", "target") for t in terms]
        return names + (["gan_g", "gan_d"] if self.discriminator is not None else []) + ["total"]

    def state(self) -> dict[str, Any]:
        state = {
            "weights": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
        }
        if self.discriminator is not None:
            assert self.d_optimizer is not None  # made with the discriminator
            state["discriminator"] = self.discriminator.state_dict()
            state["discriminator_optimizer"] = self.d_optimizer.state_dict()
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:  # empty when saved by a run without fp16 (e.g. one on the CPU)
            self.scaler.load_state_dict(state["scaler"])
        # a GAN switched on at resume starts with a fresh discriminator
        if self.discriminator is not None and "discriminator" in state:
            assert self.d_optimizer is not None  # made with the discriminator
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_optimizer.load_state_dict(state["discriminator_optimizer"])

    def _batch(self, side: str, batch: dict[str, torch.Tensor]) -> Batch:
        tensors = to_tensors(
            *(batch[k].to(self.device, non_blocking=True) for k in (side, f"{side}_mask", f"{side}_eyes_mouth"))
        )
        out = self.augment[side](*tensors)
        return dataclasses.replace(out, inputs=out.inputs.contiguous(memory_format=self.memory_format))

    def step(self, batch: dict[str, torch.Tensor], iteration: int) -> dict[str, float]:
        """One optimisation step (generator, then discriminator when the GAN is on); the loss values."""
        s = self.settings
        torch.manual_seed(step_seed(s.seed, self.dist.rank, iteration))
        source, target = self._batch("source", batch), self._batch("target", batch)
        with torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None):
            outputs = self.model_ddp(source.inputs, target.inputs)
        source_image, source_mask, target_image, target_mask = (o.float() for o in outputs)
        losses: dict[str, torch.Tensor] = {}
        for side, image, mask, truth in (
            ("source", source_image, source_mask, source),
            ("target", target_image, target_mask, target),
        ):
            terms = reconstruction_losses(
                image,
                mask,
                truth.targets,
                truth.masks,
                truth.eyes_mouth if s.eyes_mouth else None,
                s.pixel_loss,
                s.masked,
            )
            losses.update({f"{side}_{k}": v for k, v in terms.items()})
        if self.discriminator is not None:
            soft = blur_mask(source.masks)
            fake, real = source_image * soft, source.targets * soft
            # the generator's view goes around the DDP wrapper: only the discriminator step syncs its grads
            losses["gan_g"] = s.gan_power * generator_gan_loss(self.discriminator(fake))
        total = sum(losses.values())
        assert isinstance(total, torch.Tensor)  # losses is never empty
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if s.clip_grad > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), s.clip_grad)
        self.scaler.step(self.optimizer)
        self.scheduler.step()
        if self.discriminator is not None:
            assert self.d_optimizer is not None and self.discriminator_ddp is not None  # made with it
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss = discriminator_loss(self.discriminator_ddp(real), self.discriminator_ddp(fake.detach()))
            self.scaler.scale(d_loss).backward()
            self.scaler.step(self.d_optimizer)
            losses["gan_d"] = d_loss
        self.scaler.update()
        losses["total"] = total
        values = torch.stack([v.detach().float() for v in losses.values()]).tolist()  # one device sync
        return dict(zip(losses, values, strict=True))

    @torch.no_grad()
    def preview(self, source_faces: Sequence[Face], target_faces: Sequence[Face]) -> np.ndarray:
        """Grid rows: source, its reconstruction, target, its reconstruction, target swapped to source."""

        def tensor(faces: Sequence[Face]) -> torch.Tensor:
            array = np.stack([f.image for f in faces]).astype(np.float32) / 255
            return torch.from_numpy(array).permute(0, 3, 1, 2).to(self.device)

        def numpy(images: torch.Tensor) -> np.ndarray:
            return images.float().permute(0, 2, 3, 1).cpu().numpy()

        src, dst = tensor(source_faces), tensor(target_faces)
        return preview_grid(
            [
                ("source", numpy(src)),
                ("source rec", numpy(self.model.render(src, "source")[0])),
                ("target", numpy(dst)),
                ("target rec", numpy(self.model.render(dst, "target")[0])),
                ("swap", numpy(self.model.render(dst, "source")[0])),
            ]
        )


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


def _framing_fits(start: dict, info: FacesetInfo, start_path: Path, shipped: bool) -> bool:
    """Whether the crops a run's start point (checkpoint or base) was trained on frame faces as the
    facesets do. A shipped base that does not fit is dropped (False: the caller trains from random
    weights); a file the user named that does not fit is an error."""
    if (start["coverage"], start["y_offset"]) == (info.coverage, info.y_offset):
        return True
    if shipped:
        return False
    raise UserError(
        f"{start_path} was trained on crops of coverage {start['coverage']}, y offset {start['y_offset']}, "
        f"these facesets have {info.coverage}, {info.y_offset}: use facesets extracted with --coverage "
        f"{start['coverage']} --y-offset {start['y_offset']}"
    )


def _train(
    run: TrainRun, model_settings: ModelSettings, settings: TrainSettings, dist: Distributed, device: torch.device
) -> TrainResult:
    checkpoint_path = run.out / CHECKPOINT_NAME
    if run.resume is None and checkpoint_path.exists():
        raise UserError(f"{run.out} already holds a training run: add --resume to continue it, or choose a new --out")
    own_base = names_base_file(settings.base)
    if run.resume is not None and own_base:
        raise UserError("--base starts a new run and --resume continues one: drop --base to resume")
    saved = read_checkpoint(run.resume) if run.resume is not None else None
    base_file = (
        None
        if saved
        else base_path(settings.base, model_settings.preset or DEFAULT_PRESET, bool(model_settings.overrides()))
    )
    base = read_base(base_file) if base_file is not None else None
    # what the weights start from when not from random: its model and the framing of its crops
    start = {"model": saved["model"], **saved["card"]} if saved else base
    start_path = run.resume or base_file
    preset, dims = model_settings.resolve(start["model"] if start else None, start_path)
    source_set, others = open_facesets(run.source, [*run.more_sources, *run.targets], dims.resolution)
    more_sets, target_sets = others[: len(run.more_sources)], others[len(run.more_sources) :]
    info = source_set.info
    start_note = None  # what the weights start from, said once by the writing process
    shipped = base is not None and not own_base
    if start is not None and start_path is not None and not _framing_fits(start, info, start_path, shipped):
        start_note = (
            f"the shipped base was pretrained on crops of coverage {start['coverage']}, y offset "
            f"{start['y_offset']}, these facesets have {info.coverage}, {info.y_offset}: starting from random weights"
        )
        start = base = None
    if base is not None:
        start_note = (
            f"starting from the base {base_file} ({base['faces']} faces, {base['iterations']} "
            "iterations; --base none starts from random weights)"
        )
    target_names = list(run.target_names or [t.folder.name for t in target_sets])
    if len(target_names) != len(target_sets):
        raise UserError(f"{len(target_names)} --target-name for {len(target_sets)} --target: give one name per target")

    trainer = Trainer(dims, settings, device, dist)
    iteration = 0
    if saved is not None:
        trainer.load_state(saved)
        iteration = int(saved["iteration"])
    elif base is not None:
        trainer.model.load_state_dict(base["weights"])
    source_pool = FacePool([source_set, *more_sets], dims.resolution, settings.uniform_yaw)
    target_pool = FacePool(target_sets, dims.resolution, settings.uniform_yaw)
    dataset = PairDataset(source_pool, target_pool, settings.ct, settings.seed, dist.rank)
    loader = make_loader(
        dataset,
        settings.batch_size,
        iteration * settings.batch_size,
        settings.workers,
        pin_memory=device.type == "cuda",
    )
    training_data = {
        "source_faces": len(source_pool),
        "target_faces": len(target_pool),
        "target_facesets": len(target_sets),
    }
    if base is not None:
        training_data.update(base_faces=base["faces"], base_iterations=base["iterations"])
    if saved is not None:  # a resumed fine-tuning keeps saying what it started from
        training_data = {**saved["card"]["training_data"], **training_data}
    card = {
        "resolution": dims.resolution,
        "coverage": info.coverage,
        "y_offset": info.y_offset,
        "preset": preset,
        "architecture": dims.arch,
        "identities": [run.source_name or source_set.folder.name, *target_names],
        "training_data": training_data,
    }

    def checkpoint() -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "iteration": iteration,
            "seed": settings.seed,
            "model": {"preset": preset, "dims": dims.to_dict()},
            "card": {**card, "iterations": iteration},
            "settings": to_dict(settings),
            **trainer.state(),
        }
        save_checkpoint(checkpoint_path, state)

    writer = dist.rank == 0
    if writer and start_note is not None:
        tqdm.write(f"swapcam train: {start_note}")
    if writer and saved is None:  # what the source lacks, said before the hours of training, not after
        for line in coverage(source_set, target_sets).gap_lines():
            tqdm.write(f"swapcam train: coverage: {line} (swapcam faceset-report draws it)")
    log = holdout_log = None
    holdout = Holdout(run.holdout, dims.resolution, info) if run.holdout is not None and writer else None
    if writer:
        (run.out / "previews").mkdir(parents=True, exist_ok=True)
        log = LossLog(run.out, trainer.loss_names(), iteration)
        holdout_log = HoldoutLog(run.out, iteration) if holdout is not None else None
        previews = (preview_faces(source_pool, PREVIEW_FACES), preview_faces(target_pool, PREVIEW_FACES))

    def preview() -> None:
        _write_preview(run.out, iteration, trainer.preview(*previews))
        if holdout is not None:
            assert holdout_log is not None  # made with the holdout
            holdout_log.write(iteration, time.monotonic() - started, holdout.psnr(trainer.model, device))

    bar = tqdm(
        initial=iteration,
        total=settings.iterations or None,
        unit="it",
        dynamic_ncols=True,
        disable=not (run.progress and writer),
        desc="train",
    )
    started, saved_at, reason = time.monotonic(), iteration, "interrupted"
    batches: Iterator = iter(loader)
    try:
        with StopRequest() as stop:
            while True:
                stop_reason = _stop_reason(settings, iteration, time.monotonic() - started, stop.requested)
                if dist.any(stop_reason is not None, device):
                    reason = stop_reason or "stopped by another process"
                    break
                lr = float(trainer.scheduler.get_last_lr()[0])  # the rate this step uses
                losses = trainer.step(next(batches), iteration)
                iteration += 1
                if not writer:
                    continue
                assert log is not None  # made by the writer
                log.write(iteration, time.monotonic() - started, lr, losses)
                bar.update(1)
                bar.set_postfix(
                    src=f"{losses['source_dssim'] + losses['source_pixel']:.3f}",
                    dst=f"{losses['target_dssim'] + losses['target_pixel']:.3f}",
                    mask=f"{losses['source_mask'] + losses['target_mask']:.3f}",
                    refresh=False,
                )
                if iteration % settings.preview_every == 0:
                    preview()
                if iteration % settings.checkpoint_every == 0:
                    checkpoint()
                    saved_at = iteration
        if writer and iteration != saved_at:
            checkpoint()
            if iteration % settings.preview_every:  # else the loop has just written this iteration's
                preview()
    finally:
        bar.close()
        for opened in (log, holdout_log):
            if opened is not None:
                opened.close()
        del batches  # shuts the loader's workers down
    return TrainResult(iteration, reason, checkpoint_path, trainer.model, dist.rank)


def _stop_reason(settings: TrainSettings, iteration: int, seconds: float, requested: bool) -> str | None:
    if requested:
        return "interrupted"
    if settings.iterations and iteration >= settings.iterations:
        return "iteration budget reached"
    if settings.minutes and seconds >= settings.minutes * 60:
        return "time budget reached"
    return None


def _write_preview(folder: Path, iteration: int, grid: np.ndarray) -> None:
    cv2.imwrite(str(folder / "previews" / f"iter_{iteration:07d}.png"), grid)


def main(argv: list[str] | None = None) -> int:
    """``python -m swapcam.export.train`` (for torchrun): the arguments of ``swapcam train``."""
    from swapcam.realtime.core.command import OneLineErrorParser

    from .cli import TrainCommand

    command = TrainCommand()
    parser = OneLineErrorParser(prog="python -m swapcam.export.train", description=command.help)
    command.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return command.run(args)
    except UserError as err:
        print(f"swapcam: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
