"""Checkpoints of a training run: writing and reading RUN_DIR/checkpoint.pt, and the model and card
they re-create.

Checkpoints are written atomically every ``--checkpoint-every`` iterations, on Ctrl-C and at the end,
and load with ``torch.load(…, weights_only=True)``: tensors and plain containers only. Besides the
training state they hold what the model card needs (no paths).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.files import write_atomic
from swapcam.realtime.core.settings import to_dict
from swapcam.realtime.stages.contract import ModelCard

from ..dims import ModelDims
from ..models import SwapModel, build_model
from ..settings import TrainSettings

CHECKPOINT_FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"


def checkpoint_state(
    iteration: int,
    settings: TrainSettings,
    preset: str,
    dims: ModelDims,
    card: dict[str, Any],
    training_state: dict[str, Any],
) -> dict[str, Any]:
    """What a checkpoint holds: the iteration, what re-creates the model and its card, the settings,
    and the trainer's state (weights, optimizers, schedule, loss scaler)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "iteration": iteration,
        "seed": settings.seed,
        "model": {"preset": preset, "dims": dims.to_dict()},
        "card": {**card, "iterations": iteration},
        "settings": to_dict(settings),
        **training_state,
    }


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
