"""Where and how a training process computes: its place under torchrun, its device, its autocast dtype.

The names of ``--device`` and ``--precision`` are declared in :mod:`swapcam.export.settings`
(``DEVICES``, ``TRAIN_PRECISIONS``); this module gives them their meaning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist

from swapcam.realtime.core.errors import UserError

from .settings import TrainSettings

#: the autocast dtype of each training precision but ``auto`` (None: plain fp32)
AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Distributed:
    """This process's place under torchrun (rank 0 of 1 when run directly)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        env = os.environ
        return cls(
            int(env.get("RANK", 0)),
            int(env.get("WORLD_SIZE", 1)),
            int(env.get("LOCAL_RANK", 0)),
            int(env.get("LOCAL_WORLD_SIZE", env.get("WORLD_SIZE", 1))),
        )

    @property
    def enabled(self) -> bool:
        return self.world > 1

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when ``flag`` is true on any rank (so all ranks stop at the same step)."""
        if not self.enabled:
            return flag
        value = torch.tensor([int(flag)], device=device)
        torch_dist.all_reduce(value, op=torch_dist.ReduceOp.MAX)
        return bool(value.item())


def choose_device(settings: TrainSettings, dist: Distributed) -> torch.device:
    wants_cuda = settings.device == "cuda" or (settings.device == "auto" and torch.cuda.is_available())
    if not wants_cuda:
        torch.set_num_threads(settings.threads or max(1, (os.cpu_count() or 1) // dist.local_world))
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError(
            "--device cuda but this torch sees no CUDA GPU: use --device cpu or install a CUDA build of torch"
        )
    torch.cuda.set_device(dist.local_rank)
    return torch.device("cuda", dist.local_rank)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX): there bf16 autocast made a
    training step 1.35x faster; elsewhere it is emulated and slower than fp32."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(torch.cpu, name)() for name in probes if hasattr(torch.cpu, name))
    except RuntimeError:
        return False


def choose_precision(settings: TrainSettings, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    name = settings.precision
    if name == "auto":
        if device.type == "cpu":
            name = "bf16" if cpu_has_native_bf16() else "fp32"
        else:
            name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if name == "fp16" and device.type == "cpu":
        raise UserError("--precision fp16 needs a CUDA GPU: use bf16 or fp32 on the CPU")
    return AUTOCAST_DTYPES[name]
