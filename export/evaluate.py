"""Reconstruction quality of an ONNX swap model on faces it never trained on, and whose face its
swaps show (no torch needed).

A swap model renders one identity, the first of its card. A face of that identity that goes in
should come back unchanged, so the PSNR between the input face and ``out_celeb_face`` over the
faceset's landmark-hull masks (the face itself, not the background) measures how well the model
learned the face. Give it a faceset of held-out frames: frames the model trained on overstate it.
:func:`grid_strength` measures the checkerboard a pixel-shuffle decoder can leave on its faces.

Given target facesets (people on camera), :func:`identity_check` swaps their faces and asks dlib's
face descriptor (the ``identity`` extra) whether each swapped face is nearer the source identity
(the mean descriptor of the held-out source faces) or the person it was swapped from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.contract import INPUT_FACE, ModelCard
from swapcam.realtime.stages.swap import Swapper, SwapSettings, ort_session, run_swap

from .faceset import Faceset
from .identity import FaceDescriber, identity_share


def cpu_session(model: onnx.ModelProto):
    """An onnxruntime CPU session on every core, for offline checks (not the live loop)."""
    return ort_session(model, threads=os.cpu_count() or 1)


def run_onnx(model: onnx.ModelProto, faces: np.ndarray, batch: int = 16) -> list[np.ndarray]:
    """faces: (N, R, R, 3) float32 BGR 0..1 → the three contract outputs, each (N, R, R, C)."""
    session = cpu_session(model)
    chunks = [session.run(None, {INPUT_FACE: faces[i : i + batch]}) for i in range(0, len(faces), batch)]
    return [np.concatenate([c[k] for c in chunks]) for k in range(3)]


def masked_psnr(prediction: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB over the masked pixels; prediction/truth (N, R, R, 3) 0..1, mask (N, R, R, 1) 0..1."""
    weight = np.broadcast_to(mask, prediction.shape)
    mse = float((weight * (prediction - truth) ** 2).sum() / max(weight.sum(), 1e-8))
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def grid_strength(images: np.ndarray, masks: np.ndarray, period: int = 4) -> float:
    """How strongly the faces carry a pattern locked to the pixel grid with a period of 2 or 4 px (the
    checkerboard of pixel-shuffle upscaling), in grey levels of 255: 0 for none.

    images (N, R, R, 3) float 0..1, masks (N, R, R, 1) 0..1 (R a multiple of ``period``). Per face:
    the grey level minus its local mean (a period × period box) is averaged over the face pixels of
    each of the period² positions in the grid; detail at random phases averages out, a grid stays.
    The result is the RMS of those averages, over the positions and then the faces.
    """
    grey = images.mean(-1)
    smooth = np.stack([cv2.blur(face, (period, period), borderType=cv2.BORDER_REFLECT) for face in grey])
    residual, weight = (grey - smooth), masks[..., 0] >= 0.5
    n, size = residual.shape[:2]
    cells = size // period
    tiles = (residual * weight).reshape(n, cells, period, cells, period).sum((1, 3))
    counts = weight.reshape(n, cells, period, cells, period).sum((1, 3))
    means = tiles / np.maximum(counts, 1)
    return float(np.sqrt((means**2).mean((1, 2))).mean() * 255)


def _open(faceset: Faceset | str | Path) -> Faceset:
    # Opening parses every record (468 landmarks each): callers that read faces and masks open once.
    return faceset if isinstance(faceset, Faceset) else Faceset(faceset)


def _spread(faceset: Faceset, limit: int) -> np.ndarray:
    return np.linspace(0, len(faceset) - 1, min(limit, len(faceset))).round().astype(int)


def faces_from_faceset(faceset: Faceset | str | Path, resolution: int, limit: int = 64) -> np.ndarray:
    """Up to ``limit`` faces spread over a faceset, resized to the model: (N, R, R, 3) float32 BGR 0..1."""
    faceset = _open(faceset)
    faces = [
        cv2.resize(faceset.image(int(i)), (resolution, resolution), interpolation=cv2.INTER_AREA)
        for i in _spread(faceset, limit)
    ]
    return np.stack(faces).astype(np.float32) / 255.0


def masks_from_faceset(faceset: Faceset | str | Path, resolution: int, limit: int = 64) -> np.ndarray:
    """The hull masks of the faces :func:`faces_from_faceset` picks: (N, R, R, 1) float32 0..1."""
    faceset = _open(faceset)
    masks = [
        cv2.resize(faceset.mask(int(i)), (resolution, resolution), interpolation=cv2.INTER_AREA)
        for i in _spread(faceset, limit)
    ]
    return np.stack(masks)[..., None].astype(np.float32) / 255.0


def _check_alignment(faceset: Faceset, card: ModelCard) -> None:
    info = faceset.info
    if abs(info.coverage - card.coverage) > 1e-6 or abs(info.y_offset - card.y_offset) > 1e-6:
        raise UserError(
            f"faceset {faceset.folder} was aligned with coverage {info.coverage} and y-offset "
            f"{info.y_offset}, the model with {card.coverage} and {card.y_offset}: extract the faces "
            "again with the model's --coverage and --y-offset"
        )


@dataclass(frozen=True)
class Evaluation:
    identity: str  # the identity the model renders
    faces: int
    psnr_db: float  # input face vs rendered face over the faceset's hull masks
    resolution: int  # the model's, where psnr_db is measured
    grid: float  # checkerboard of the rendered faces (grid_strength), grey levels
    grid_input: float  # the same of the faces that went in: what the camera itself has
    at: int | None = None  # a common resolution the rendering was also enlarged to
    psnr_at_db: float | None = None  # the PSNR there, against the faceset's crop at that size

    def lines(self) -> list[str]:
        lines = [
            f"reconstruction PSNR {self.psnr_db:.2f} dB over the face (hull mask) of {self.faces} "
            f"faces, rendered as {self.identity} at {self.resolution} px"
        ]
        if self.psnr_at_db is not None:
            lines.append(
                f"enlarged to {self.at} px (bicubic), against the faces at {self.at} px: {self.psnr_at_db:.2f} dB"
            )
        lines.append(
            f"checkerboard (a 2 or 4 px grid over the face) {self.grid:.2f} grey levels (the faces that went "
            f"in: {self.grid_input:.2f})"
        )
        return lines


def evaluate(
    model: str | Path, faceset: str | Path, limit: int = 256, batch: int = 16, at: int | None = None
) -> Evaluation:
    """Run up to ``limit`` faces of ``faceset`` (spread over it) through ``model`` on the CPU.

    ``at``: also measure with the rendering enlarged to ``at`` px against the faces at ``at`` px, as
    the live loop enlarges it onto the camera face: models of different resolutions compare there.
    """
    swapper = Swapper(model, SwapSettings(provider="cpu"))
    card, opened = swapper.card, Faceset(faceset)
    _check_alignment(opened, card)
    if at is not None and not swapper.resolution <= at <= opened.info.resolution:
        raise UserError(
            f"--at {at} is outside {swapper.resolution}..{opened.info.resolution} px (the model's resolution to "
            "the faceset's crops): choose a size in that range"
        )
    faces = faces_from_faceset(opened, swapper.resolution, limit)
    masks = masks_from_faceset(opened, swapper.resolution, limit)
    rendered = _render(swapper, faces, batch)
    evaluation = Evaluation(
        card.identities[0],
        len(faces),
        masked_psnr(rendered, faces, masks),
        swapper.resolution,
        grid_strength(rendered, masks),
        grid_strength(faces, masks),
    )
    if at is None:
        return evaluation
    enlarged = np.stack([cv2.resize(face, (at, at), interpolation=cv2.INTER_CUBIC) for face in rendered])
    truth, truth_masks = faces_from_faceset(opened, at, limit), masks_from_faceset(opened, at, limit)
    return dataclasses.replace(evaluation, at=at, psnr_at_db=masked_psnr(np.clip(enlarged, 0, 1), truth, truth_masks))


@dataclass(frozen=True)
class IdentityCheck:
    source: str  # the identity the model renders
    target: str  # the faceset's folder name
    faces: int
    share: float  # of swapped faces nearer the source than the target person's own face
    to_source: float  # mean descriptor distance to the source (< 0.6: usually the same person)
    to_target: float

    def line(self) -> str:
        return (
            f"{self.share:.0%} of {self.faces} swapped {self.target} faces look nearer {self.source} than "
            f"{self.target} (mean dlib distance to {self.source} {self.to_source:.2f}, to {self.target} "
            f"{self.to_target:.2f}; below 0.6 is usually one person)"
        )


def identity_check(
    model: str | Path, source: str | Path, targets: Sequence[str | Path], limit: int = 64, batch: int = 16
) -> list[IdentityCheck]:
    """Swap up to ``limit`` faces of each target faceset with ``model`` and compare dlib descriptors:
    the swapped face against the mean of ``source``'s faces and against the target face it came
    from. Descriptors are taken at the facesets' own resolution, where the swapped face is enlarged to.
    The model and the source's reference are loaded once for all targets."""
    describer = FaceDescriber()
    swapper = Swapper(model, SwapSettings(provider="cpu"))
    sources = Faceset(source)
    _check_alignment(sources, swapper.card)
    picks = _spread(sources, limit)
    reference = describer.reference(
        [sources.image(int(i)) for i in picks], [sources.records[int(i)].landmarks for i in picks]
    )
    return [_identity_of_swaps(swapper, describer, reference, Faceset(t), limit, batch) for t in targets]


def _identity_of_swaps(
    swapper: Swapper, describer: FaceDescriber, reference: np.ndarray, targets: Faceset, limit: int, batch: int
) -> IdentityCheck:
    _check_alignment(targets, swapper.card)
    picks = _spread(targets, limit)
    rendered = _render(swapper, faces_from_faceset(targets, swapper.resolution, limit), batch)
    size = targets.info.resolution
    swapped, own = [], []
    for face, index in zip(rendered, picks, strict=True):
        landmarks = targets.records[int(index)].landmarks
        image = cv2.resize(
            np.clip(face * 255 + 0.5, 0, 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_CUBIC
        )
        swapped.append(describer.describe(image, landmarks))
        own.append(describer.describe(targets.image(int(index)), landmarks))
    share, to_source, to_target = identity_share(np.stack(swapped), reference, np.stack(own))
    return IdentityCheck(swapper.card.identities[0], targets.folder.name, len(swapped), share, to_source, to_target)


def _render(swapper: Swapper, faces: np.ndarray, batch: int) -> np.ndarray:
    """The model's rendering (out_celeb_face) of faces (N, R, R, 3), ``batch`` at a time (morph 1)."""
    morph = np.ones(1, np.float32) if swapper.io.has_morph else None
    return np.concatenate(
        [run_swap(swapper.session, faces[i : i + batch], morph)[1] for i in range(0, len(faces), batch)]
    )
