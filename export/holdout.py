"""Held-out PSNR during training: how well the model renders faces of the source identity that it
never trains on, measured as training goes (``swapcam train --holdout FACESET``).

The same measure as ``swapcam evaluate`` (PSNR over the faces' landmark-hull masks), on up to
:data:`HOLDOUT_FACES` faces spread over the faceset, with the PyTorch model in fp32. Written to
RUN_DIR/holdout.csv (iteration, seconds, psnr_db) at every preview, so a run's curve of PSNR
against minutes can be plotted and two recipes compared at equal time.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from swapcam.realtime.core.errors import UserError

from .data import FacePool
from .evaluate import masked_psnr
from .faceset import Faceset, FacesetInfo

if TYPE_CHECKING:
    from .models import SwapModel

HOLDOUT_FACES = 64
_BATCH = 16


class Holdout:
    """The held-out faces at the model's resolution: (N, 3, R, R) images and (N, R, R, 1) masks."""

    def __init__(self, folder: Path, resolution: int, framing: FacesetInfo):
        if not Path(folder).is_dir():
            raise UserError(f"held-out faceset {folder} does not exist: check --holdout")
        faceset = Faceset(folder)
        if (faceset.info.coverage, faceset.info.y_offset) != (framing.coverage, framing.y_offset):
            raise UserError(
                f"held-out faceset {folder} has coverage {faceset.info.coverage}, y offset "
                f"{faceset.info.y_offset}, the training facesets {framing.coverage}, {framing.y_offset}: "
                "extract it like them"
            )
        pool = FacePool([faceset], resolution, uniform_yaw=False)
        numbers = np.linspace(0, len(pool) - 1, min(HOLDOUT_FACES, len(pool))).round().astype(int)
        faces = [pool.load(int(n)) for n in numbers]
        self.images = torch.from_numpy(np.stack([f.image for f in faces])).permute(0, 3, 1, 2).float() / 255
        self.masks = np.stack([f.mask for f in faces])[..., None].astype(np.float32) / 255

    @torch.no_grad()
    def psnr(self, model: SwapModel, device: torch.device) -> float:
        """PSNR in dB of the model's source reconstruction of the held-out faces."""
        rendered = [
            model.render(self.images[i : i + _BATCH].to(device), "source")[0].float().cpu()
            for i in range(0, len(self.images), _BATCH)
        ]
        prediction = torch.cat(rendered).permute(0, 2, 3, 1).numpy()
        return masked_psnr(prediction, self.images.permute(0, 2, 3, 1).numpy(), self.masks)


class HoldoutLog:
    """RUN_DIR/holdout.csv; on resume, rows after the checkpoint's iteration are dropped."""

    COLUMNS = ("iteration", "seconds", "psnr_db")

    def __init__(self, folder: Path, resumed_at: int):
        self.path = folder / "holdout.csv"
        kept: list[dict[str, str]] = []
        if self.path.exists() and resumed_at > 0:
            with self.path.open(newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if int(row["iteration"]) <= resumed_at]
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, self.COLUMNS)
        self._writer.writeheader()
        self._writer.writerows(kept)

    def write(self, iteration: int, seconds: float, psnr_db: float) -> None:
        self._writer.writerow({"iteration": iteration, "seconds": f"{seconds:.2f}", "psnr_db": f"{psnr_db:.3f}"})
        self._file.flush()

    def close(self) -> None:
        self._file.close()
