"""Training data: facesets → (source, target) pairs → augmented batches.

Two halves, split where the work is cheapest:

* :class:`PairDataset` (DataLoader workers, numpy): picks faces, decodes and resizes them, builds the
  eyes-and-mouth map from the landmarks and applies colour transfer. Item ``i`` depends only on
  ``(seed, rank, i)``, so a resumed run draws exactly the faces it would have drawn, with any number
  of workers.
* :func:`augment` (training device, batched kornia): flip, affine jitter, colour jitter and the random
  warp of the input. On a GPU this costs next to nothing, so workers never become the bottleneck.
  It draws from torch's global RNG, which checkpoints store.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import kornia.augmentation as K
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.color import COLOR_TRANSFERS
from swapcam.realtime.stages.landmarks import LEFT_EYE, LIPS, RIGHT_EYE

from .faceset import Faceset

# the eyes-and-mouth priority regions (their convex hulls are filled)
EYES_MOUTH_REGIONS = (RIGHT_EYE, LEFT_EYE, LIPS)
# decoded faces kept in memory per pool (image, mask and eyes-mouth map: 5 bytes a pixel)
FACE_CACHE_BYTES = 512 * 2**20
# uniform-yaw sampling draws a yaw bin of this many degrees first, then a face inside it
YAW_BIN_DEGREES = 10.0
# random warp: control grids of 2, 4 or 8 cells across; inner points move by N(0, 0.24 cell) (DFL)
WARP_CELLS = (2, 4, 8)
WARP_SIGMA_CELLS = 0.24


def open_facesets(source: str | Path, targets: Sequence[str | Path], resolution: int) -> tuple[Faceset, list[Faceset]]:
    """Open the source and target facesets and check they can train one model together.

    Raises UserError when a faceset is missing, its crops are smaller than ``resolution``, or the
    facesets differ in coverage or vertical offset (the model would learn two framings).
    """
    if not targets:
        raise UserError("no --target faceset given: add --target FACESET (repeat it for several people)")
    opened = []
    for flag, path in [("--source", source), *(("--target", t) for t in targets)]:
        if not Path(path).is_dir():
            raise UserError(f"faceset {path} does not exist: check {flag}, or make one with swapcam extract")
        faceset = Faceset(path)
        if faceset.info.resolution < resolution:
            raise UserError(
                f"faceset {path} has {faceset.info.resolution} px crops, smaller than the {resolution} px "
                f"model: re-extract it with --resolution {resolution} or more"
            )
        opened.append(faceset)
    first = opened[0].info
    for faceset in opened[1:]:
        info = faceset.info
        if (info.coverage, info.y_offset) != (first.coverage, first.y_offset):
            raise UserError(
                f"faceset {faceset.folder} has coverage {info.coverage}, y offset {info.y_offset} but "
                f"{opened[0].folder} has {first.coverage}, {first.y_offset}: re-extract them with the same "
                "--coverage and --y-offset"
            )
    return opened[0], opened[1:]


def eyes_mouth_map(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) uint8 0/1 map of both eyes and the mouth, from 468 landmarks in crop pixels.

    The hulls are dilated by size/32 so that lids, lashes and lip edges count as part of them.
    """
    canvas = np.zeros((size, size), np.uint8)
    for region in EYES_MOUTH_REGIONS:
        hull = cv2.convexHull(np.round(landmarks[region] * 16).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, (1,), lineType=cv2.LINE_8, shift=4)
    grow = max(1, size // 32)
    return cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))


@dataclass(frozen=True)
class Face:
    """One face at the training resolution: image (R,R,3) uint8 BGR, mask and eyes_mouth (R,R) uint8."""

    image: np.ndarray
    mask: np.ndarray
    eyes_mouth: np.ndarray


class FacePool:
    """The faces of one identity (one or more facesets), read at the training resolution.

    Faces of all its facesets are drawn alike, so a bigger faceset is seen more often.
    """

    def __init__(self, facesets: Sequence[Faceset], resolution: int, uniform_yaw: bool):
        self.facesets, self.resolution = list(facesets), resolution
        # Decoding and resizing a face took 4-6 ms, a third of a CPU training step's data time: faces
        # are kept once loaded, up to FACE_CACHE_BYTES (per process: each loader worker has its own).
        self._cache: dict[int, Face] = {}
        self._cache_limit = FACE_CACHE_BYTES // (resolution * resolution * 5)
        self.index = [(k, i) for k, faceset in enumerate(self.facesets) for i in range(len(faceset))]
        yaws = np.array([self.facesets[k].records[i].yaw for k, i in self.index])
        bins = np.floor(yaws / YAW_BIN_DEGREES) if uniform_yaw else np.zeros_like(yaws)
        self.groups = [np.flatnonzero(bins == b) for b in np.unique(bins)]

    def __len__(self) -> int:
        return len(self.index)

    def draw(self, rng: np.random.Generator) -> int:
        """A random face number: uniform over faces, or over yaw bins first when uniform_yaw."""
        group = self.groups[rng.integers(len(self.groups))]
        return int(group[rng.integers(len(group))])

    def load(self, number: int) -> Face:
        face = self._cache.get(number)
        if face is None:
            face = self._read(number)
            if len(self._cache) < self._cache_limit:
                self._cache[number] = face
        return face

    def _read(self, number: int) -> Face:
        k, i = self.index[number]
        faceset = self.facesets[k]
        scale = self.resolution / faceset.info.resolution
        size = (self.resolution, self.resolution)
        image, mask = faceset.image(i), faceset.mask(i)
        if scale != 1.0:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
        landmarks = (faceset.records[i].landmarks + 0.5) * scale - 0.5
        return Face(image, mask, eyes_mouth_map(landmarks, self.resolution))


class PairDataset(torch.utils.data.Dataset[dict[str, np.ndarray]]):
    """Map-style dataset of (source face, target face) pairs; item ``i`` is fixed by (seed, rank, i).

    Items are dicts of numpy arrays: ``source``/``target`` (R,R,3) uint8 BGR, ``*_mask`` and
    ``*_eyes_mouth`` (R,R) uint8. With ``ct`` other than ``none``, the source face is recoloured
    toward a random target face (DFL's ct_mode), so the source decoder learns the camera's colours.
    """

    def __init__(self, source: FacePool, target: FacePool, ct: str, seed: int, rank: int):
        self.source, self.target = source, target
        self.transfer = COLOR_TRANSFERS.get(ct)
        self.ct = ct
        self.seed, self.rank = seed, rank

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.rank, index])
        source = self.source.load(self.source.draw(rng))
        target = self.target.load(self.target.draw(rng))
        image = source.image
        if self.ct != "none":
            reference = self.target.load(self.target.draw(rng)).image
            recoloured = self.transfer(
                image.astype(np.float32) / 255, reference.astype(np.float32) / 255, source.mask.astype(np.float32) / 255
            )
            image = np.clip(recoloured * 255 + 0.5, 0, 255).astype(np.uint8)
        return {
            "source": image,
            "source_mask": source.mask,
            "source_eyes_mouth": source.eyes_mouth,
            "target": target.image,
            "target_mask": target.mask,
            "target_eyes_mouth": target.eyes_mouth,
        }


class IndexStream:
    """Sampler of the item numbers start, start + 1, … (endless: budgets end training, not epochs)."""

    def __init__(self, start: int):
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.start)


def _worker_init(_: int) -> None:
    # Ctrl-C is the main process's to handle (it saves a checkpoint); workers keep serving until closed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_loader(
    dataset: PairDataset, batch_size: int, start_item: int, workers: int, pin_memory: bool
) -> torch.utils.data.DataLoader:
    """Endless batches starting at item ``start_item``; workers=0 loads in the calling process."""
    extra: dict[str, Any] = {"prefetch_factor": 4, "worker_init_fn": _worker_init} if workers else {}
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=IndexStream(start_item),
        num_workers=workers,
        pin_memory=pin_memory,
        **extra,
    )


def preview_faces(pool: FacePool, count: int) -> list[Face]:
    """``count`` faces spread evenly over the pool, unaugmented: the fixed rows of preview grids."""
    numbers = np.linspace(0, len(pool) - 1, count).round().astype(int)
    return [pool.load(int(n)) for n in numbers]


@dataclass(frozen=True)
class Batch:
    """One identity's augmented batch on the device: ``inputs`` (warped) and ``targets`` [N,3,R,R]
    float32 0..1, ``masks`` and ``eyes_mouth`` [N,1,R,R]."""

    inputs: Tensor
    targets: Tensor
    masks: Tensor
    eyes_mouth: Tensor


def to_tensors(images: Tensor, masks: Tensor, eyes_mouth: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """uint8 [N,R,R,3], [N,R,R], [N,R,R] (as collated) → float32 [N,3,R,R] 0..1, [N,1,R,R], [N,1,R,R]."""
    return (images.permute(0, 3, 1, 2).float() / 255, masks[:, None].float() / 255, eyes_mouth[:, None].float())


class Augmenter(torch.nn.Module):
    """Batched augmentation of one identity's faces (see :meth:`forward`)."""

    def __init__(self, flip: bool, color_jitter: float, random_warp: bool):
        super().__init__()
        self.flip = K.RandomHorizontalFlip(p=0.5 if flip else 0.0)
        self.affine = K.RandomAffine(
            degrees=10.0, translate=(0.05, 0.05), scale=(0.95, 1.05), padding_mode="border", p=1.0
        )
        c = color_jitter
        self.color = K.ColorJiggle(brightness=c, contrast=c, saturation=c, hue=c / 5, p=1.0 if c > 0 else 0.0)
        self.random_warp = random_warp

    def forward(self, images: Tensor, masks: Tensor, eyes_mouth: Tensor) -> Batch:
        """images [N,3,R,R] BGR 0..1, masks/eyes_mouth [N,1,R,R] → :class:`Batch`.

        Colour jitter, flip and the affine jitter change input and target alike (the model must
        reproduce them); the random warp changes only the input, so the model learns to undo it.
        """
        images = self.color(images.flip(1)).flip(1)  # kornia's hue and saturation expect RGB
        stacked = self.affine(self.flip(torch.cat([images, masks, eyes_mouth], 1)))
        targets, masks, eyes_mouth = stacked[:, :3], stacked[:, 3:4], stacked[:, 4:5]
        inputs = random_warp(targets) if self.random_warp else targets
        return Batch(inputs.contiguous(), targets.contiguous(), masks.contiguous(), eyes_mouth.contiguous())


def random_warp(images: Tensor) -> Tensor:
    """DFL's random warp: a grid of control points (2, 4 or 8 cells across, drawn per batch) whose inner
    points are jittered, interpolated smoothly to every pixel; the border stays put. [N,C,R,R] → same.

    Done with grid_sample rather than kornia's thin-plate splines, whose solve is ill-conditioned on
    a regular grid of control points (it returns displacements of many crop widths).
    """
    n, _, height, width = images.shape
    cells = WARP_CELLS[int(torch.randint(len(WARP_CELLS), ()))]
    jitter = torch.randn(n, 2, cells + 1, cells + 1, device=images.device) * (2.0 / cells * WARP_SIGMA_CELLS)
    jitter[:, :, [0, -1]] = 0.0
    jitter[:, :, :, [0, -1]] = 0.0
    offsets = F.interpolate(jitter, size=(height, width), mode="bicubic", align_corners=True)
    ys = torch.linspace(-1.0, 1.0, height, device=images.device)
    xs = torch.linspace(-1.0, 1.0, width, device=images.device)
    identity = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)  # (H, W, 2) as x, y
    grid = identity + offsets.permute(0, 2, 3, 1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)
