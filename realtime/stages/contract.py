"""The swap-model contract (shared with DeepFaceLive's .dfm files) and the model card.

Inputs
    ``in_face``      float32 [N, H, W, 3], BGR, 0..1, H == W == model resolution
    ``morph_value``  float32 [1] (optional)
Outputs, in this order, all 0..1
    ``out_face_mask``        [N, H, W, 1]  mask of the camera face
    ``out_celeb_face``       [N, H, W, 3]  the camera face rendered as the source identity, BGR
    ``out_celeb_face_mask``  [N, H, W, 1]  mask of that rendered face

The model card is JSON stored in the ONNX ``metadata_props`` under the key ``swapcam``. Files without
it (DeepFaceLive .dfm, other tools) load with :data:`FOREIGN_DEFAULTS`: coverage 2.2, no vertical
offset, identities unknown; ``--coverage`` tunes the crop when such a model looks too zoomed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import UserError

INPUT_FACE = "in_face"
INPUT_MORPH = "morph_value"
OUTPUTS = ("out_face_mask", "out_celeb_face", "out_celeb_face_mask")
OUTPUT_CHANNELS = (1, 3, 1)
CARD_KEY = "swapcam"
FLOAT_TYPE = "tensor(float)"


class ContractError(UserError):
    """The model file breaks the contract; the message names the exact mismatch."""


@dataclass(frozen=True)
class ModelCard:
    """What the model was trained with; the live loop follows it unless flags override it."""

    resolution: int
    coverage: float = 2.2
    y_offset: float = 0.0
    preset: str = "unknown"
    architecture: str = "unknown"
    identities: tuple[str, ...] = ()
    iterations: int = 0
    precision: str = "fp32"
    created: str = ""
    version: str = ""
    consent: str = ""
    training_data: Mapping[str, int] = field(default_factory=dict)
    foreign: bool = False

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("foreign")
        data["identities"] = list(self.identities)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], resolution: int) -> ModelCard:
        """Parse the ``swapcam`` metadata entry, or the documented defaults when it is absent."""
        raw = metadata.get(CARD_KEY)
        if raw is None:
            return cls(resolution=resolution, foreign=True)
        try:
            data = json.loads(raw)
            known = {f.name for f in dataclasses.fields(cls)} - {"foreign"}
            values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
            values["identities"] = tuple(values.get("identities", ()))
            card = cls(**values)
        except (ValueError, TypeError) as err:
            raise ContractError(
                f"model card under '{CARD_KEY}' is not valid JSON for a card ({err}): re-export the model"
            ) from None
        if card.resolution != resolution:
            raise ContractError(
                f"model card says resolution {card.resolution} but in_face is {resolution}x{resolution}: re-export the model"
            )
        return card


@dataclass(frozen=True)
class TensorInfo:
    """Name, element type (onnxruntime spelling, e.g. ``tensor(float)``) and shape (ints or symbols)."""

    name: str
    type: str
    shape: Sequence[int | str | None]


@dataclass(frozen=True)
class ModelIO:
    resolution: int
    has_morph: bool


def check_io(inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]) -> ModelIO:
    """Validate a model's inputs and outputs against the contract.

    Raises :class:`ContractError` naming the first mismatch; returns the resolution and whether the
    model takes ``morph_value``.
    """
    by_name = {t.name: t for t in inputs}
    if INPUT_FACE not in by_name:
        present = ", ".join(t.name for t in inputs) or "none"
        raise ContractError(
            f"model has no input '{INPUT_FACE}' (its inputs: {present}): export it with the swapcam contract"
        )
    extra = [t.name for t in inputs if t.name not in (INPUT_FACE, INPUT_MORPH)]
    if extra:
        raise ContractError(
            f"model has unexpected input '{extra[0]}': only '{INPUT_FACE}' and '{INPUT_MORPH}' are allowed"
        )
    face = by_name[INPUT_FACE]
    if face.type != FLOAT_TYPE:
        raise ContractError(f"input '{INPUT_FACE}' is {face.type}, expected float32: export with float32 inputs")
    if len(face.shape) != 4 or face.shape[3] != 3:
        raise ContractError(f"input '{INPUT_FACE}' has shape {list(face.shape)}, expected [N,H,W,3] (NHWC, BGR)")
    height, width = face.shape[1], face.shape[2]
    if not isinstance(height, int) or not isinstance(width, int) or height != width or height <= 0:
        raise ContractError(f"input '{INPUT_FACE}' must have a fixed square size H == W, got H={height} W={width}")
    if INPUT_MORPH in by_name:
        morph = by_name[INPUT_MORPH]
        if morph.type != FLOAT_TYPE or len(morph.shape) != 1:
            raise ContractError(f"input '{INPUT_MORPH}' must be float32 [1], got {morph.type} {list(morph.shape)}")
    names = tuple(t.name for t in outputs)
    if names != OUTPUTS:
        raise ContractError(f"model outputs are {list(names)}, expected exactly {list(OUTPUTS)} in that order")
    for out, channels in zip(outputs, OUTPUT_CHANNELS, strict=True):
        if out.type != FLOAT_TYPE:
            raise ContractError(f"output '{out.name}' is {out.type}, expected float32")
        expected = [None, height, width, channels]
        shape = list(out.shape)
        if len(shape) != 4 or any(
            isinstance(got, int) and want is not None and got != want for got, want in zip(shape, expected, strict=True)
        ):
            raise ContractError(f"output '{out.name}' has shape {shape}, expected [N,{height},{width},{channels}]")
    return ModelIO(resolution=height, has_morph=INPUT_MORPH in by_name)
