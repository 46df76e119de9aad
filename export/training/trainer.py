"""The models, optimizers and one training step of ``swapcam train``, and the pure rules it steps by:
the learning-rate schedule and the seed of each step.

Reproducibility: item ``i`` of the data depends only on (seed, rank, i) and the augmentation RNG is
re-seeded from (seed, rank, iteration) every step, so a run resumed from a checkpoint continues
exactly as the uninterrupted run would have, without storing generator states.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ..data import Augmenter, Batch, Face, to_tensors
from ..device import Distributed, choose_precision
from ..dims import ModelDims
from ..losses import blur_mask, discriminator_loss, generator_gan_loss, reconstruction_losses
from ..models import PatchDiscriminator, build_model
from ..settings import TrainSettings


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
        # fused: one pass over each tensor instead of a dozen; on an AVX2 CPU the step of the live
        # model's 15.5 M weights took 18 ms instead of 102 (benchmarks/RESULTS.md, issue 23)
        return torch.optim.AdamW(
            module.parameters(), lr=self.settings.lr, weight_decay=self.settings.weight_decay, fused=True
        )

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
