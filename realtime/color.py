"""Colour transfer in aligned space: recolour the swapped face toward the camera's face.

Every mode is a pure function ``transfer(face, reference, mask) -> np.ndarray``:

* face: (r, r, 3) float32 0..1 BGR, the swapped face to recolour;
* reference: (r, r, 3) float32 0..1 BGR, the camera's aligned face whose colours we want;
* mask: (r, r) float32 0..1, the weights of the statistics.

Statistics of both images are taken under the mask only, each pixel weighted by its mask value, so a
pixel whose mask is 0 counts for nothing; the resulting transform is then applied to every face pixel.
Each output pixel therefore depends only on those statistics and on itself. The result is float32,
clipped to 0..1, same shape. An all-zero mask has no statistics: the face comes back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numba import njit

from .registry import Registry

Transfer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
COLOR_TRANSFERS: Registry[Transfer] = Registry("colour transfer")

# Below this total mask weight (in pixels) there is nothing to measure.
_MIN_WEIGHT = 1e-6
# Covariance regulariser (BGR 0..1 units squared): keeps constant-colour inputs invertible without
# visibly changing real faces, whose per-channel variances are around 1e-3 and up.
_COV_EPS = 1e-5
# A LAB channel with a weighted standard deviation below this (L 0..100 units) is treated as flat:
# its mean is shifted but its spread is left alone instead of being scaled by a huge ratio.
_FLAT_STD = 1e-3

# Sliced optimal transport: rotations of colour space per call, and histogram bins per 1-D transport
# (over the projected colour range, at most sqrt(3): bins of about 2 grey levels, interpolated).
_SOT_STEPS = 8
_SOT_BINS = 256


def _random_rotations(count: int, seed: int) -> np.ndarray:
    """(count, 3, 3) float32 orthonormal matrices, fixed by the seed so that results are repeatable."""
    rng = np.random.default_rng(seed)
    rotations = np.empty((count, 3, 3), np.float32)
    for i in range(count):
        q, r = np.linalg.qr(rng.standard_normal((3, 3)))
        rotations[i] = q * np.sign(np.diag(r))  # sign fix: uniformly distributed rotations
    rotations.flags.writeable = False
    return rotations


_SOT_ROTATIONS = _random_rotations(_SOT_STEPS, seed=0)


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


@COLOR_TRANSFERS.register("none")
def no_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The face as it is (the same array, no copy)."""
    return face


@COLOR_TRANSFERS.register("rct")
def reinhard_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001: match the weighted mean and standard deviation of each LAB channel."""
    weights, total = _weights(mask)
    if total < _MIN_WEIGHT:
        return face
    face_lab = bgr_to_lab(face)
    mean_f, var_f = _weighted_mean_var(face_lab.reshape(-1, 3), weights, total)
    mean_r, var_r = _weighted_mean_var(bgr_to_lab(reference).reshape(-1, 3), weights, total)
    std_f, std_r = np.sqrt(var_f), np.sqrt(var_r)
    gain = np.where(std_f > _FLAT_STD, std_r / np.maximum(std_f, _FLAT_STD), 1.0)
    face_lab *= gain.astype(np.float32)
    face_lab += (mean_r - gain * mean_f).astype(np.float32)
    out = cv2.cvtColor(face_lab, cv2.COLOR_Lab2BGR)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _gaussian_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray,
                       linear_map: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``x → A (x − μ_f) + μ_r`` with ``A = linear_map(C_f, C_r)`` from the weighted statistics."""
    weights, total = _weights(mask)
    if total < _MIN_WEIGHT:
        return face
    mean_f, cov_f = _weighted_mean_cov(face.reshape(-1, 3), weights, total)
    mean_r, cov_r = _weighted_mean_cov(reference.reshape(-1, 3), weights, total)
    A = linear_map(cov_f, cov_r)
    return _apply_affine(face, A, mean_r - A @ mean_f)


def _pca_map(cov_f: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    root_r, _ = _sqrtm(cov_r)
    _, inv_root_f = _sqrtm(cov_f)
    return root_r @ inv_root_f


def _monge_kantorovich_map(cov_f: np.ndarray, cov_r: np.ndarray) -> np.ndarray:
    root_f, inv_root_f = _sqrtm(cov_f)
    # The middle term is in squared covariance units: a covariance-sized eps would swamp it.
    middle, _ = _sqrtm(root_f @ cov_r @ root_f, _COV_EPS**2)
    return inv_root_f @ middle @ inv_root_f


@COLOR_TRANSFERS.register("lct")
def linear_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Linear colour transfer in BGR: ``x → C_r^½ C_f^-½ (x − μ_f) + μ_r`` (PCA form).

    Matches the weighted mean and covariance. Symmetric square roots (rather than Cholesky factors)
    keep the result independent of the channel order.
    """
    return _gaussian_transfer(face, reference, mask, _pca_map)


@COLOR_TRANSFERS.register("mkl")
def monge_kantorovich_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pitié & Kokaram 2007: the linear map of least displacement taking N(μ_f, C_f) to N(μ_r, C_r).

    ``T = C_f^-½ (C_f^½ C_r C_f^½)^½ C_f^-½`` (symmetric, T C_f T = C_r), then ``x → T (x − μ_f) + μ_r``.
    """
    return _gaussian_transfer(face, reference, mask, _monge_kantorovich_map)


@njit(cache=True, nogil=True)
def _sot_step(pixels, sample_idx, ref_samples, weights, rotation, bins):
    """One sliced-OT step, in place: along each row of ``rotation``, move every pixel by the 1-D
    optimal-transport displacement from the face samples' weighted distribution to the reference's.

    pixels: (N, 3) float32, all face pixels (updated). sample_idx: (K,) int64, the pixels under the
    mask. ref_samples: (K, 3) float32, the reference at the same places. weights: (K,) float32 > 0.
    rotation: (3, 3) float32 orthonormal. Each 1-D distribution is a weighted histogram of ``bins``
    bins over the joint range, uniform within a bin, so its CDF is piecewise linear on the bin edges;
    the displacement is tabulated on those edges, interpolated between them, and held at the ends.
    Reference: :func:`sot_step_reference`.
    """
    k_count = sample_idx.shape[0]
    total = 0.0
    for i in range(k_count):
        total += weights[i]
    face_proj = np.empty(k_count, np.float64)
    ref_proj = np.empty(k_count, np.float64)
    face_cdf = np.empty(bins + 1, np.float64)
    ref_cdf = np.empty(bins + 1, np.float64)
    shifts = np.zeros((3, bins + 1), np.float32)
    lows = np.zeros(3, np.float64)
    scales = np.zeros(3, np.float64)
    for k in range(3):
        lo = np.inf
        hi = -np.inf
        for i in range(k_count):
            j = sample_idx[i]
            f = 0.0
            r = 0.0
            for c in range(3):
                f += rotation[k, c] * pixels[j, c]
                r += rotation[k, c] * ref_samples[i, c]
            face_proj[i] = f
            ref_proj[i] = r
            lo = min(lo, f, r)
            hi = max(hi, f, r)
        if not hi - lo > 1e-6:
            continue  # both distributions are one point along this axis (shift 0 is exact or all we can do)
        width = (hi - lo) / bins
        _edge_cdf(face_proj, weights, total, lo, width, face_cdf)
        _edge_cdf(ref_proj, weights, total, lo, width, ref_cdf)
        # Target of edge e: the reference quantile at the face's CDF there (CDFs are non-decreasing,
        # so one forward walk over the reference edges serves all of them).
        m = 0
        for e in range(bins + 1):
            q = face_cdf[e]
            while m < bins and ref_cdf[m] < q:
                m += 1
            if m == 0 or ref_cdf[m] <= ref_cdf[m - 1]:
                target = lo + m * width
            else:
                t = (q - ref_cdf[m - 1]) / (ref_cdf[m] - ref_cdf[m - 1])
                target = lo + (m - 1 + t) * width
            shifts[k, e] = target - (lo + e * width)
        lows[k] = lo
        scales[k] = 1.0 / width
    for j in range(pixels.shape[0]):
        b, g, r = pixels[j, 0], pixels[j, 1], pixels[j, 2]
        for k in range(3):
            if scales[k] == 0.0:
                continue
            p = rotation[k, 0] * b + rotation[k, 1] * g + rotation[k, 2] * r
            t = min(max((p - lows[k]) * scales[k], 0.0), float(bins))
            e = min(int(t), bins - 1)
            s = shifts[k, e] + np.float32(t - e) * (shifts[k, e + 1] - shifts[k, e])
            # Rows of the rotation are orthogonal: moving along one leaves the other projections as
            # they were, so all three moves use the projections from before the step.
            pixels[j, 0] += s * rotation[k, 0]
            pixels[j, 1] += s * rotation[k, 1]
            pixels[j, 2] += s * rotation[k, 2]


@njit(cache=True, nogil=True)
def _edge_cdf(values, weights, total, lo, width, cdf):
    """Weighted CDF of values (K,) at the bins + 1 edges ``lo + e * width`` into cdf (bins + 1,)."""
    bins = cdf.shape[0] - 1
    cdf[:] = 0.0
    for i in range(values.shape[0]):
        b = min(int((values[i] - lo) / width), bins - 1)
        cdf[b + 1] += weights[i]
    acc = 0.0
    for e in range(bins + 1):
        acc += cdf[e]
        cdf[e] = acc / total


def _edge_cdf_reference(values, weights, lo, width, bins):
    """Plain NumPy :func:`_edge_cdf`: weighted CDF (bins + 1,) float64 at the edges ``lo + e * width``."""
    b = np.minimum(((values - lo) / width).astype(np.int64), bins - 1)
    return np.concatenate([[0.0], np.cumsum(np.bincount(b, weights, minlength=bins))]) / weights.sum()


def sot_step_reference(pixels, sample_idx, ref_samples, weights, rotation, bins):
    """Plain NumPy :func:`_sot_step` (same maths, float64 throughout), returning new pixels (N, 3)."""
    pixels = pixels.astype(np.float64)
    rotation = rotation.astype(np.float64)
    weights = weights.astype(np.float64)
    face_proj = pixels[sample_idx] @ rotation.T
    ref_proj = ref_samples.astype(np.float64) @ rotation.T
    proj = pixels @ rotation.T
    moves = np.zeros_like(pixels)
    for k in range(3):
        lo = min(face_proj[:, k].min(), ref_proj[:, k].min())
        hi = max(face_proj[:, k].max(), ref_proj[:, k].max())
        if not hi - lo > 1e-6:
            continue
        width = (hi - lo) / bins
        edges = lo + np.arange(bins + 1) * width
        face_cdf = _edge_cdf_reference(face_proj[:, k], weights, lo, width, bins)
        ref_cdf = _edge_cdf_reference(ref_proj[:, k], weights, lo, width, bins)
        m = np.searchsorted(ref_cdf, face_cdf, side="left")
        prev = ref_cdf[np.maximum(m - 1, 0)]
        cur = ref_cdf[np.minimum(m, bins)]
        rising = (m > 0) & (cur > prev)
        t = np.where(rising, (face_cdf - prev) / np.where(rising, cur - prev, 1.0), 0.0)
        target = lo + np.where(rising, m - 1 + t, m) * width
        shift = target - edges
        moves += np.interp(proj[:, k], edges, shift)[:, None] * rotation[k]
    return pixels + moves


@COLOR_TRANSFERS.register("sot")
def sliced_ot_transfer(face: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sliced optimal transport (Pitié's iterative distribution transfer) in BGR, mask-weighted.

    Each of a fixed sequence of random rotations of colour space moves the face pixels, along each
    rotated axis, by the 1-D transport that takes the face's weighted colour distribution under the
    mask to the reference's (see :func:`_sot_step`). It matches the whole colour distribution, not
    only its mean and covariance. Deterministic: the rotations come from a fixed seed.
    """
    weights, total = _weights(mask)
    if total < _MIN_WEIGHT:
        return face
    sample_idx = np.flatnonzero(weights > 0)
    ref_samples = np.ascontiguousarray(reference.reshape(-1, 3)[sample_idx])
    sample_weights = np.ascontiguousarray(weights[sample_idx])
    pixels = face.reshape(-1, 3).copy()
    for rotation in _SOT_ROTATIONS:
        _sot_step(pixels, sample_idx, ref_samples, sample_weights, rotation, _SOT_BINS)
    np.clip(pixels, 0.0, 1.0, out=pixels)
    return pixels.reshape(face.shape)
