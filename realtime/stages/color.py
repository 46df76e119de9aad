"""Colour transfer in aligned space: recolour the swapped face toward the camera's face.

Every mode is a :class:`ColorTransfer`, callable as a pure function ``transfer(face, reference, mask)``:

* face: (r, r, 3) float32 0..1 BGR, the swapped face to recolour;
* reference: (r, r, 3) float32 0..1 BGR, the camera's aligned face whose colours we want;
* mask: (r, r) float32 0..1, the weights of the statistics.

Statistics of both images are taken under the mask only, each pixel weighted by its mask value, so a
pixel whose mask is 0 counts for nothing; the resulting transform is then applied to every face pixel.
Each output pixel therefore depends only on those statistics and on itself. The result is float32,
clipped to 0..1, same shape. An all-zero mask has no statistics: the face comes back unchanged.

The stage wrapper :class:`ColorMatcher` averages each face's statistics over time, so the face's
colour follows the camera's light without jumping from frame to frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..core.registry import Registry
from ..core.settings import Settings, setting
from .base import FaceWork, FrameWork, Stage, StageContext, StageSpec
from .color_sot import SOT_BINS, SOT_ROTATIONS, sot_step
from .temporal import TrackAverage

Stats = tuple[np.ndarray, ...]
COLOR_TRANSFERS: Registry[ColorTransfer] = Registry("colour transfer")

# Below this total mask weight (in pixels) there is nothing to measure.
_MIN_WEIGHT = 1e-6
# Covariance regulariser (BGR 0..1 units squared): keeps constant-colour inputs invertible without
# visibly changing real faces, whose per-channel variances are around 1e-3 and up.
_COV_EPS = 1e-5
# A LAB channel with a weighted standard deviation below this (L 0..100 units) is treated as flat:
# its mean is shifted but its spread is left alone instead of being scaled by a huge ratio.
_FLAT_STD = 1e-3


def _weighted_mean_cov(pixels: np.ndarray, weights: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean (3,) and covariance (3, 3), float64, of pixels (N, 3) float32 with weights (N,).

    Two-pass (centred) so that float32 sums stay accurate for LAB values in the tens.
    """
    mean = (weights @ pixels).astype(np.float64) / total
    centred = pixels - mean.astype(np.float32)
    cov = (centred * weights[:, None]).T @ centred
    return mean, cov.astype(np.float64) / total


def _weighted_mean_var(pixels: np.ndarray, weights: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-channel mean (3,) and variance (3,), float64, of pixels (N, 3) float32."""
    mean = (weights @ pixels).astype(np.float64) / total
    centred = pixels - mean.astype(np.float32)
    var = weights @ (centred * centred)
    return mean, var.astype(np.float64) / total


def _apply_affine(face: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``clip(face @ A.T + b, 0, 1)`` for face (r, r, 3) float32, A (3, 3), b (3,); float32 (r, r, 3)."""
    out = face.reshape(-1, 3) @ A.T.astype(np.float32)
    out += b.astype(np.float32)
    np.clip(out, 0.0, 1.0, out=out)
    return out.reshape(face.shape)


def _sqrtm(sym: np.ndarray, eps: float = _COV_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Square root of the symmetric ``sym + eps·I`` and its inverse, (3, 3) float64 each.

    eps regularises covariances (so constant colours stay invertible); it must be in the units of
    ``sym``, so products of covariances pass their own.
    """
    vals, vecs = np.linalg.eigh(sym + eps * np.eye(3))
    root = np.sqrt(np.maximum(vals, eps))
    return (vecs * root) @ vecs.T, (vecs / root) @ vecs.T


def srgb_to_linear(bgr: np.ndarray) -> np.ndarray:
    """sRGB decoding (the IEC 61966-2-1 curve) of float32 0..1 values, any shape; float32."""
    curve = cv2.pow(bgr * np.float32(1 / 1.055) + np.float32(0.055 / 1.055), 2.4)
    return np.where(bgr <= np.float32(0.04045), bgr * np.float32(1 / 12.92), curve)


def bgr_to_lab(bgr: np.ndarray) -> np.ndarray:
    """OpenCV's float LAB (L 0..100, a, b; sRGB, D65) of (r, r, 3) float32 0..1 BGR; float32.

    Same maths as ``cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab)``, but exact: on float input OpenCV
    approximates that conversion with a 3-D lookup table (errors up to ~0.5 in a/b on dark colours,
    4e-3 after a round trip), while its linear-light path is exact. So we decode sRGB ourselves and use
    the linear path, which is also faster.
    """
    return cv2.cvtColor(srgb_to_linear(bgr), cv2.COLOR_LBGR2Lab)


def _weights(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """The mask as flat weights (N,) float32, and their total."""
    weights = np.ascontiguousarray(mask, np.float32).reshape(-1)
    return weights, float(weights.sum(dtype=np.float64))


@dataclass(frozen=True)
class ColorTransfer:
    """A colour transfer mode split in two, so that its statistics can be averaged over frames.

    ``statistics(face, reference, mask)`` → a tuple of arrays (weighted means and (co)variances),
    or None when the mask has no weight (the face is then left as it is); ``apply(face, stats)`` →
    the recoloured face. ``smoothable``: the statistics are means, whose average over frames is
    meaningful. Calling the transfer does both on one frame.
    """

    statistics: Callable[[np.ndarray, np.ndarray, np.ndarray], Stats | None]
    apply: Callable[[np.ndarray, Stats], np.ndarray]
    smoothable: bool = True

    def __call__(self, face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
        stats = self.statistics(face, reference, mask)
        return face if stats is None else self.apply(face, stats)


def _no_statistics(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> None:
    """The face as it is (the same array, no copy)."""
    return None


def _rct_statistics(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> Stats | None:
    """Weighted mean and variance of each LAB channel of face and reference."""
    weights, total = _weights(mask)
    if total < _MIN_WEIGHT:
        return None
    return (
        *_weighted_mean_var(bgr_to_lab(face).reshape(-1, 3), weights, total),
        *_weighted_mean_var(bgr_to_lab(reference).reshape(-1, 3), weights, total),
    )


def _rct_apply(face: np.ndarray, stats: Stats) -> np.ndarray:
    """Reinhard et al. 2001: match the mean and standard deviation of each LAB channel."""
    mean_f, var_f, mean_r, var_r = stats
    std_f, std_r = np.sqrt(var_f), np.sqrt(var_r)
    gain = np.where(std_f > _FLAT_STD, std_r / np.maximum(std_f, _FLAT_STD), 1.0)
    face_lab = bgr_to_lab(face)
    face_lab *= gain.astype(np.float32)
    face_lab += (mean_r - gain * mean_f).astype(np.float32)
    out = cv2.cvtColor(face_lab, cv2.COLOR_Lab2BGR)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _gaussian_statistics(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> Stats | None:
    """Weighted BGR mean (3,) and covariance (3, 3) of face and reference."""
    weights, total = _weights(mask)
    if total < _MIN_WEIGHT:
        return None
    return (
        *_weighted_mean_cov(face.reshape(-1, 3), weights, total),
        *_weighted_mean_cov(reference.reshape(-1, 3), weights, total),
    )


def _gaussian_apply(
    linear_map: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> Callable[[np.ndarray, Stats], np.ndarray]:
    """``x → A (x − μ_f) + μ_r`` with ``A = linear_map(C_f, C_r)``."""

    def apply(face: np.ndarray, stats: Stats) -> np.ndarray:
        mean_f, cov_f, mean_r, cov_r = stats
        A = linear_map(cov_f, cov_r)
        return _apply_affine(face, A, mean_r - A @ mean_f)

    return apply


def _pca_map(cov_f: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    """Linear colour transfer (PCA form) ``C_r^½ C_f^-½``: matches mean and covariance. Symmetric
    square roots (rather than Cholesky factors) keep the result independent of the channel order."""
    root_r, _ = _sqrtm(cov_r)
    _, inv_root_f = _sqrtm(cov_f)
    return root_r @ inv_root_f


def _monge_kantorovich_map(cov_f: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    """Pitié & Kokaram 2007, the linear map of least displacement taking N(μ_f, C_f) to N(μ_r, C_r):
    ``T = C_f^-½ (C_f^½ C_r C_f^½)^½ C_f^-½`` (symmetric, T C_f T = C_r)."""
    root_f, inv_root_f = _sqrtm(cov_f)
    # The middle term is in squared covariance units: a covariance-sized eps would swamp it.
    middle, _ = _sqrtm(root_f @ cov_r @ root_f, _COV_EPS**2)
    return inv_root_f @ middle @ inv_root_f


COLOR_TRANSFERS.register("none")(ColorTransfer(_no_statistics, lambda face, stats: face))
COLOR_TRANSFERS.register("rct")(ColorTransfer(_rct_statistics, _rct_apply))
COLOR_TRANSFERS.register("lct")(ColorTransfer(_gaussian_statistics, _gaussian_apply(_pca_map)))
COLOR_TRANSFERS.register("mkl")(ColorTransfer(_gaussian_statistics, _gaussian_apply(_monge_kantorovich_map)))


def _sot_statistics(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> Stats | None:
    """The reference and mask themselves: a whole distribution, not a mean, so not smoothable."""
    return None if _weights(mask)[1] < _MIN_WEIGHT else (reference, mask)


def _sot_apply(face: np.ndarray, stats: Stats) -> np.ndarray:
    """Sliced optimal transport (Pitié's iterative distribution transfer) in BGR, mask-weighted.

    Each of a fixed sequence of random rotations of colour space moves the face pixels, along each
    rotated axis, by the 1-D transport that takes the face's weighted colour distribution under the
    mask to the reference's (see :func:`swapcam.realtime.stages.color_sot.sot_step`). It matches the whole colour distribution, not
    only its mean and covariance. Deterministic: the rotations come from a fixed seed.
    """
    reference, mask = stats
    weights, _ = _weights(mask)
    sample_idx = np.flatnonzero(weights > 0)
    ref_samples = np.ascontiguousarray(reference.reshape(-1, 3)[sample_idx])
    sample_weights = np.ascontiguousarray(weights[sample_idx])
    pixels = face.reshape(-1, 3).copy()
    for rotation in SOT_ROTATIONS:
        sot_step(pixels, sample_idx, ref_samples, sample_weights, rotation, SOT_BINS)
    np.clip(pixels, 0.0, 1.0, out=pixels)
    return pixels.reshape(face.shape)


COLOR_TRANSFERS.register("sot")(ColorTransfer(_sot_statistics, _sot_apply, smoothable=False))


@dataclass(frozen=True)
class ColorSettings(Settings):
    section = "color"
    mode: str = setting(
        "rct", "colour transfer toward the camera face", choices=tuple(COLOR_TRANSFERS.names()), flag="color"
    )
    # 0.3 s: on real clips the face's mean colour then moved frame to frame 0.85x as much as the
    # camera's instead of 1.02x, at no cost in PSNR or seam (benchmarks/RESULTS.md, quality)
    smoothing: float = setting(
        0.3,
        "average the colour statistics over this many seconds (a time constant), so "
        "the face's colour does not jump between frames; 0 = per frame; sot is never "
        "averaged",
        low=0.0,
        high=5.0,
        flag="color-smoothing",
    )


class ColorMatcher:
    """The colour stage: a transfer whose statistics are averaged over time for each tracked face
    (exponential moving average with the settings' time constant, on the frames' media time)."""

    def __init__(self, settings: ColorSettings):
        self.settings = settings
        self.transfer = COLOR_TRANSFERS.get(settings.mode)
        self._average = TrackAverage(settings.smoothing if self.transfer.smoothable else 0.0)

    def __call__(
        self, face: np.ndarray, reference: np.ndarray, mask: np.ndarray, media_time: float, track: int = 0
    ) -> np.ndarray:
        """face, reference: (r, r, 3) float32 0..1 BGR; mask: (r, r) float32 weights → recoloured face."""
        stats = self.transfer.statistics(face, reference, mask)
        if stats is None:
            return face
        return self.transfer.apply(face, self._average(stats, media_time, track))

    def reset(self) -> None:
        """Forget every track (no face in the frame)."""
        self._average.reset()


class ColorStage(Stage):
    """Gives each rendering the camera face's colours."""

    def __init__(self, settings: ColorSettings, context: StageContext):
        self.matcher = ColorMatcher(settings)

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        face.face = self.matcher(face.celeb, face.crop, face.masks.skin, work.media_time, face.track)

    def reset(self) -> None:
        self.matcher.reset()

    no_face = reset


SPEC = StageSpec(ColorSettings, ColorStage)
