"""Sliced optimal transport kernels of the ``sot`` colour transfer (Numba, with NumPy references)."""

from __future__ import annotations

import numpy as np
from numba import njit

# Sliced optimal transport: rotations of colour space per call, and histogram bins per 1-D transport
# (over the projected colour range, at most sqrt(3): bins of about 2 grey levels, interpolated).
SOT_STEPS = 8
SOT_BINS = 256


def _random_rotations(count: int, seed: int) -> np.ndarray:
    """(count, 3, 3) float32 orthonormal matrices, fixed by the seed so that results are repeatable."""
    rng = np.random.default_rng(seed)
    rotations = np.empty((count, 3, 3), np.float32)
    for i in range(count):
        q, r = np.linalg.qr(rng.standard_normal((3, 3)))
        rotations[i] = q * np.sign(np.diag(r))  # sign fix: uniformly distributed rotations
    rotations.flags.writeable = False
    return rotations


SOT_ROTATIONS = _random_rotations(SOT_STEPS, seed=0)


@njit(cache=True, nogil=True)
def sot_step(pixels, sample_idx, ref_samples, weights, rotation, bins):
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
    """Plain NumPy :func:`sot_step` (same maths, float64 throughout), returning new pixels (N, 3)."""
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
