"""A base: the weights ``swapcam pretrain`` writes and a new ``swapcam train`` run starts from.

A base file holds fp16 weights (half the size; fine-tuning continues in the training precision),
the preset and dims, the crops' framing and how many faces and iterations made it, as a
gzip-compressed ``torch.save`` (8 % smaller again) that loads with ``weights_only=True``: tensors
and plain containers only.

swapcam ships a base per preset where one pays for itself (``dims.SHIPPED_BASES``): ``--base auto``
(the default) starts a new run of that preset from it; ``--base none`` from random weights;
``--base PATH`` from a base of your own.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import torch

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.files import write_atomic

from .dims import BASE_AUTO, BASE_NONE, SHIPPED_BASES

BASE_FORMAT = "swapcam-base-1"
WEIGHTS = Path(__file__).with_name("weights")


def base_state(checkpoint: dict) -> dict:
    """A base file's contents from a pretraining checkpoint: fp16 weights, the model, the framing,
    and the pool's size (pretraining puts every face of the pool on the source side)."""
    card = checkpoint["card"]
    return {
        "format": BASE_FORMAT,
        "model": checkpoint["model"],
        "weights": {k: v.half() if v.is_floating_point() else v for k, v in checkpoint["weights"].items()},
        "coverage": card["coverage"],
        "y_offset": card["y_offset"],
        "faces": card["training_data"]["source_faces"],
        "iterations": int(checkpoint["iteration"]),
    }


def write_base(path: Path, state: dict) -> None:
    """Write atomically, gzip-compressed."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = gzip.compress(buffer.getvalue(), compresslevel=6, mtime=0)  # mtime 0: same weights, same bytes

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(data)

    write_atomic(path, write, durable=True)


def read_base(path: Path) -> dict:
    """A base's contents, weights as float32; UserError when it is missing or not a swapcam base."""
    if not path.is_file():
        raise UserError(f"base {path} does not exist: make one with swapcam pretrain, or check --base")
    try:
        state = torch.load(io.BytesIO(gzip.decompress(path.read_bytes())), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 — any failure to decompress or unpickle means the same to the user
        raise UserError(
            f"base {path} is not readable ({type(err).__name__}): make it again with swapcam pretrain"
        ) from None
    if not isinstance(state, dict) or state.get("format") != BASE_FORMAT:
        raise UserError(f"{path} is not a swapcam base ({BASE_FORMAT}): give a file written by swapcam pretrain")
    state["weights"] = {k: v.float() if v.is_floating_point() else v for k, v in state["weights"].items()}
    return state


def base_path(choice: str, preset: str, custom_dims: bool) -> Path | None:
    """The base file ``--base`` names: None for ``none``, and for ``auto`` when the preset has no
    shipped base or its dims were changed (the shipped base has the preset's own)."""
    if choice == BASE_NONE:
        return None
    if choice == BASE_AUTO:
        return None if custom_dims or preset not in SHIPPED_BASES else WEIGHTS / SHIPPED_BASES.get(preset)
    return Path(choice)
