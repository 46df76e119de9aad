"""Where a training run's weights start: the checkpoint it resumes (``--resume``), a base it
fine-tunes (``--base``; by default the base the package ships for the preset), or random weights,
and the check that the start was trained on crops framed as the run's facesets frame faces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swapcam.realtime.core.errors import UserError

from ..base import base_path, read_base
from ..dims import DEFAULT_PRESET, names_base_file
from ..faceset import FacesetInfo
from ..settings import ModelSettings, TrainSettings
from .checkpoint import CHECKPOINT_NAME, read_checkpoint


@dataclass(frozen=True)
class Start:
    """What a run's weights start from: a checkpoint, a base, or neither (random weights)."""

    resumed: dict | None = None  # the checkpoint resumed
    base: dict | None = None  # the base fine-tuned
    path: Path | None = None  # the file of either
    shipped: bool = False  # the base is the package's own, not one the user named

    @property
    def iteration(self) -> int:
        """The iteration training continues from."""
        return int(self.resumed["iteration"]) if self.resumed is not None else 0

    def trained_on(self) -> dict | None:
        """What the weights start from when not from random: its model and the framing of its crops."""
        return {"model": self.resumed["model"], **self.resumed["card"]} if self.resumed else self.base

    def fit(self, info: FacesetInfo) -> tuple[Start, str | None]:
        """The start kept for facesets of this framing, and what the weights start from, to be said once
        by the writing process (None: nothing to say)."""
        start = self.trained_on()
        if start is not None and self.path is not None and not framing_fits(start, info, self.path, self.shipped):
            return Start(), (
                f"the shipped base was pretrained on crops of coverage {start['coverage']}, y offset "
                f"{start['y_offset']}, these facesets have {info.coverage}, {info.y_offset}: starting from random weights"
            )
        if self.base is not None:
            return self, (
                f"starting from the base {self.path} ({self.base['faces']} faces, {self.base['iterations']} "
                "iterations; --base none starts from random weights)"
            )
        return self, None

    def training_data(self, pools: dict[str, int]) -> dict:
        """The model card's ``training_data``: the pools' sizes, and what the run started from."""
        training_data = dict(pools)
        if self.base is not None:
            training_data.update(base_faces=self.base["faces"], base_iterations=self.base["iterations"])
        if self.resumed is not None:  # a resumed fine-tuning keeps saying what it started from
            training_data = {**self.resumed["card"]["training_data"], **training_data}
        return training_data


def find_start(resume: Path | None, out: Path, model_settings: ModelSettings, settings: TrainSettings) -> Start:
    """The start that ``--resume`` and ``--base`` name; UserError when they contradict each other or
    the run folder, or when the file named is not there or not readable."""
    if resume is None and (out / CHECKPOINT_NAME).exists():
        raise UserError(f"{out} already holds a training run: add --resume to continue it, or choose a new --out")
    own_base = names_base_file(settings.base)
    if resume is not None and own_base:
        raise UserError("--base starts a new run and --resume continues one: drop --base to resume")
    if resume is not None:
        return Start(resumed=read_checkpoint(resume), path=resume)
    base_file = base_path(settings.base, model_settings.preset or DEFAULT_PRESET, bool(model_settings.overrides()))
    if base_file is None:
        return Start()
    return Start(base=read_base(base_file), path=base_file, shipped=not own_base)


def framing_fits(start: dict, info: FacesetInfo, start_path: Path, shipped: bool) -> bool:
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
