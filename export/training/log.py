"""What the writing process (rank 0) keeps in RUN_DIR while a run trains: losses.csv (and TensorBoard
when it is installed), a preview grid every ``--preview-every`` iterations in previews/ and, with
``--holdout``, the held-out faces' PSNR in holdout.csv."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2

from ..data import FacePool, preview_faces
from ..holdout import Holdout, HoldoutLog
from .trainer import Trainer

PREVIEW_FACES = 4


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


class RunLog:
    """Rank 0's record of a run in its folder: the loss log, preview grids of fixed faces (spread over
    each pool, unaugmented) and the held-out PSNR."""

    def __init__(
        self, out: Path, trainer: Trainer, pools: tuple[FacePool, FacePool], holdout: Holdout | None, resumed_at: int
    ):
        self.out, self.trainer, self.holdout = out, trainer, holdout
        (out / "previews").mkdir(parents=True, exist_ok=True)
        self.losses = LossLog(out, trainer.loss_names(), resumed_at)
        self.holdout_log = HoldoutLog(out, resumed_at) if holdout is not None else None
        self.faces = [preview_faces(pool, PREVIEW_FACES) for pool in pools]

    def preview(self, iteration: int, started: float) -> None:
        """Write this iteration's preview grid and, with a held-out faceset, its PSNR (``started``: the
        session's start on the monotonic clock)."""
        grid = self.trainer.preview(*self.faces)
        cv2.imwrite(str(self.out / "previews" / f"iter_{iteration:07d}.png"), grid)
        if self.holdout is not None:
            assert self.holdout_log is not None  # made with the holdout
            seconds = time.monotonic() - started
            self.holdout_log.write(iteration, seconds, self.holdout.psnr(self.trainer.model, self.trainer.device))

    def close(self) -> None:
        for opened in (self.losses, self.holdout_log):
            if opened is not None:
                opened.close()
