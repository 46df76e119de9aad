"""Aligned face crop and the fused paste-back: the two warps of the live loop.

Affine convention: ``M`` is a float64 (2, 3) matrix mapping FRAME pixel coordinates to CROP pixel
coordinates, pixel centres at integer coordinates (as in OpenCV).

Both kernels reproduce OpenCV's ``warpAffine`` coordinate arithmetic exactly: source coordinates are
formed in 1/1024-pixel fixed point (the row term rounded once per row, the column term
``rint(m00 * x * 1024)`` per pixel), then rounded to 1/32 pixel, and the bilinear weights are the
products of those 1/32 fractions. Matching it is what keeps us within a grey level of OpenCV on
high-contrast content: a free float coordinate differs from OpenCV's by up to 1/64 pixel, which is
several grey levels across a sharp edge. It is also cheaper: the crop becomes integer-only arithmetic.

Both kernels are single-threaded on purpose: the live pipeline already runs its stages on separate
threads of a small machine.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

# OpenCV's warpAffine constants: coordinates in 1/2**AB_BITS pixel, interpolated at 1/2**INTER_BITS.
_AB_SCALE = 1024.0
_AB_TO_INTER = 5  # AB_BITS (10) - INTER_BITS (5)
_INTER_BITS = 5
_INTER_MASK = 31
_ROUND_DELTA = 16  # half of one 1/32 step in 1/1024 units: rounds instead of truncating

# Integer bilinear weights sum to 32 * 32; a pixel is (sum + half) >> 10.
_WEIGHT_BITS = 10
_WEIGHT_HALF = 512
# The same sum as a 0..1 float: divide by the weight total and by 255 at once.
_UNIT = np.float32(1.0 / (255.0 * 1024.0))


@njit(cache=True, inline="always")
def _inverse(M):
    """Inverse of the (2, 3) affine ``M`` as a (2, 3) float64 array, by OpenCV's exact formula.

    warpAffine inverts M itself (multiplying by 1/det); using the same operations keeps the fixed-point
    coordinates, and hence the output, bit-identical to it.
    """
    det = M[0, 0] * M[1, 1] - M[0, 1] * M[1, 0]
    if det == 0.0:
        raise ValueError("affine matrix is singular")
    d = 1.0 / det
    inv = np.empty((2, 3), np.float64)
    inv[0, 0] = M[1, 1] * d
    inv[0, 1] = M[0, 1] * -d
    inv[1, 0] = M[1, 0] * -d
    inv[1, 1] = M[0, 0] * d
    inv[0, 2] = -inv[0, 0] * M[0, 2] - inv[0, 1] * M[1, 2]
    inv[1, 2] = -inv[1, 0] * M[0, 2] - inv[1, 1] * M[1, 2]
    return inv


@njit(cache=True, inline="always")
def _blend_taps(src, p00, p10, p01, p11, wts, u, dst, o, to_unit):
    """One output pixel of the crop: the weighted sum of four BGR taps at flat byte offsets."""
    w00, w10, w01, w11 = wts[u, 0], wts[u, 1], wts[u, 2], wts[u, 3]
    for c in range(3):
        # Unsigned indices: the offsets are never negative, and signed ones would make Numba add a
        # negative-index wraparound check to every load.
        s = (
            w00 * np.int32(src[np.uint64(p00 + c)])
            + w10 * np.int32(src[np.uint64(p10 + c)])
            + w01 * np.int32(src[np.uint64(p01 + c)])
            + w11 * np.int32(src[np.uint64(p11 + c)])
        )
        if to_unit:
            dst[np.uint64(o + c)] = s * _UNIT
        else:
            dst[np.uint64(o + c)] = (s + _WEIGHT_HALF) >> _WEIGHT_BITS


@njit(cache=True, nogil=True)
def _crop_row_clamped(src, h, w, row_x, row_y, col_x, col_y, wts, dst, o, to_unit):
    """One crop row that reaches past the frame edge: the taps are clamped, exactly BORDER_REPLICATE.

    Kept out of line (not inlined) so that the clamping code does not crowd the registers of the
    in-frame loop, the one that runs for nearly every row.
    """
    stride = w * 3
    for u in range(col_x.shape[0]):
        X = (row_x + col_x[u]) >> _AB_TO_INTER
        Y = (row_y + col_y[u]) >> _AB_TO_INTER
        sx = X >> _INTER_BITS
        sy = Y >> _INTER_BITS
        x0 = min(max(sx, 0), w - 1) * 3
        x1 = min(max(sx + 1, 0), w - 1) * 3
        y0 = min(max(sy, 0), h - 1) * stride
        y1 = min(max(sy + 1, 0), h - 1) * stride
        _blend_taps(src, y0 + x0, y0 + x1, y1 + x0, y1 + x1, wts, u, dst, o, to_unit)
        o += 3


@njit(cache=True, inline="always")
def _crop_rows(frame, M, out, to_unit):
    """Bilinear crop with replicated border; see :func:`crop_aligned`.

    frame: (H, W, 3) uint8, C-contiguous. M: (2, 3) float64 frame → crop.
    out: (size, size, 3) C-contiguous, uint8 (rounded) or float32 (``to_unit``: value / 255,
    unrounded). Inlined into one kernel per output type so that ``to_unit`` is a constant there.
    """
    h, w = frame.shape[0], frame.shape[1]
    src = frame.reshape(-1)
    dst = out.reshape(-1)
    size = out.shape[0]
    stride = w * 3
    inv = _inverse(M)
    # OpenCV's per-column terms, rint(m * u * 1024), computed once and reused by every row.
    col_x = np.empty(size, np.int32)
    col_y = np.empty(size, np.int32)
    for u in range(size):
        col_x[u] = np.int32(np.rint(inv[0, 0] * _AB_SCALE * u))
        col_y[u] = np.int32(np.rint(inv[1, 0] * _AB_SCALE * u))
    # Per-row scratch: the first loop below is branch-free integer arithmetic that LLVM vectorises;
    # the second does only the byte gathers and the weighted sums (its hot loop stays small).
    offs = np.empty(size, np.int32)
    wts = np.empty((size, 4), np.int32)
    for v in range(size):
        row_x = np.int32(np.rint((inv[0, 1] * v + inv[0, 2]) * _AB_SCALE)) + _ROUND_DELTA
        row_y = np.int32(np.rint((inv[1, 1] * v + inv[1, 2]) * _AB_SCALE)) + _ROUND_DELTA
        for u in range(size):
            X = (row_x + col_x[u]) >> _AB_TO_INTER
            Y = (row_y + col_y[u]) >> _AB_TO_INTER
            fx = X & _INTER_MASK
            fy = Y & _INTER_MASK
            offs[u] = (Y >> _INTER_BITS) * stride + (X >> _INTER_BITS) * 3
            w11 = fx * fy
            w10 = (32 - fy) * fx
            w01 = (32 - fx) * fy
            wts[u, 0] = 1024 - w10 - w01 - w11
            wts[u, 1] = w10
            wts[u, 2] = w01
            wts[u, 3] = w11
        # Source coordinates are affine along the row, so its ends bound them: if both ends have
        # all four taps inside the frame, the whole row does and needs no clamping.
        xa = (row_x + col_x[0]) >> (_AB_TO_INTER + _INTER_BITS)
        xb = (row_x + col_x[size - 1]) >> (_AB_TO_INTER + _INTER_BITS)
        ya = (row_y + col_y[0]) >> (_AB_TO_INTER + _INTER_BITS)
        yb = (row_y + col_y[size - 1]) >> (_AB_TO_INTER + _INTER_BITS)
        inside = min(xa, xb) >= 0 and max(xa, xb) < w - 1 and min(ya, yb) >= 0 and max(ya, yb) < h - 1
        o = v * size * 3
        if inside:
            for u in range(size):
                p = offs[u]
                _blend_taps(src, p, p + 3, p + stride, p + stride + 3, wts, u, dst, o, to_unit)
                o += 3
        else:
            _crop_row_clamped(src, h, w, row_x, row_y, col_x, col_y, wts, dst, o, to_unit)


@njit(cache=True, nogil=True)
def _crop_u8(frame, M, out):
    _crop_rows(frame, M, out, False)


@njit(cache=True, nogil=True)
def _crop_f32(frame, M, out):
    _crop_rows(frame, M, out, True)


def crop_aligned(frame: np.ndarray, M: np.ndarray, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """The aligned face crop: ``out[v, u] = frame`` sampled at ``inverse(M) @ (u, v, 1)``.

    frame: (H, W, 3) uint8 BGR. M: (2, 3) float64, frame → crop. Bilinear, replicated border.
    out: (size, size, 3) uint8 (rounded grey levels) or float32 (scaled to 0..1, the model input, so
    no separate conversion pass); None allocates uint8. Returns ``out``.
    Same result as ``cv2.warpAffine(frame, M, (size, size), flags=cv2.INTER_LINEAR,
    borderMode=cv2.BORDER_REPLICATE)``, within one grey level (bit-exact for uint8 in practice).
    """
    if out is None:
        out = np.empty((size, size, 3), np.uint8)
    if out.shape != (size, size, 3) or out.dtype not in (np.uint8, np.float32) or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous ({size}, {size}, 3) uint8 or float32, got {out.shape} {out.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    kernel = _crop_f32 if out.dtype == np.float32 else _crop_u8
    kernel(np.ascontiguousarray(frame), np.asarray(M, np.float64), out)
    return out


@njit(cache=True, nogil=True)
def _mask_extent(mask):
    """(u0, v0, u1, v1), inclusive: the columns and rows of ``mask`` (r, r) holding a non-zero value;
    u1 < u0 when the mask is all zero."""
    r = mask.shape[0]
    u0 = v0 = r
    u1 = v1 = -1
    for v in range(r):
        for u in range(r):
            if mask[v, u] > 0:
                u0, u1 = min(u0, u), max(u1, u)
                v0, v1 = min(v0, v), max(v1, v)
    return u0, v0, u1, v1


@njit(cache=True, nogil=True)
def _paste_box(M, mask, width, height):
    """Frame box (x0, y0, x1, y1), half-open, holding every pixel the paste can change.

    Only where the bilinear sample of the mask is non-zero does a pixel change: crop coordinates in
    (u0 - 1, u1 + 1) × (v0 - 1, v1 + 1) around the mask's non-zero extent. The corners of that
    rectangle are mapped back; one more pixel of margin on each side covers the 1/32-pixel coordinate
    rounding. Bounding by the mask rather than the whole crop matters: at coverage 2.2 the face hull
    fills about a third of the crop's area. Clipped to the frame; empty when x0 == x1 or y0 == y1.
    """
    u0, v0, u1, v1 = _mask_extent(mask)
    if u1 < u0:
        return 0, 0, 0, 0
    inv = _inverse(M)
    xmin = ymin = np.inf
    xmax = ymax = -np.inf
    for u in (u0 - 1.0, u1 + 1.0):
        for v in (v0 - 1.0, v1 + 1.0):
            x = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
            y = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
            xmin, xmax = min(xmin, x), max(xmax, x)
            ymin, ymax = min(ymin, y), max(ymax, y)
    # Clip in float first: a crop far off-frame must not overflow the int conversion.
    x0 = int(np.floor(min(max(xmin - 1.0, 0.0), float(width))))
    y0 = int(np.floor(min(max(ymin - 1.0, 0.0), float(height))))
    x1 = max(int(np.ceil(min(max(xmax + 2.0, 0.0), float(width)))), x0)
    y1 = max(int(np.ceil(min(max(ymax + 2.0, 0.0), float(height)))), y0)
    return x0, y0, x1, y1


@njit(cache=True, nogil=True)
def _paste_kernel(frame, face, mask, M, out, in_place, x0, y0, x1, y1, detail_mask, high, with_detail):
    """Fused inverse warp + alpha blend over the box [x0, x1) × [y0, y1); see :func:`paste_back`.

    frame, out: (H, W, 3) uint8, C-contiguous (may be the same array). face: (r, r, 3) float32 0..1
    and mask: (r, r) float32 0..1, C-contiguous. M: (2, 3) float64 frame → crop. in_place: out is
    frame, so pixels left unblended need no copy. with_detail: detail_mask (r, r) float32 is sampled
    like the mask and adds that share of high ((y1 − y0, x1 − x0, 3) float32 grey levels, the
    frame's own fine detail over the box) to the face; otherwise both are unused placeholders.
    """
    r = mask.shape[0]
    w = frame.shape[1]
    src = frame.reshape(-1)
    dst = out.reshape(-1)
    alpha = mask.reshape(-1)
    rgb = face.reshape(-1)
    gains = detail_mask.reshape(-1)
    n = x1 - x0
    step = np.float32(1.0 / 32.0)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    col_u = np.empty(n, np.int32)
    col_v = np.empty(n, np.int32)
    for i in range(n):
        col_u[i] = np.int32(np.rint(M[0, 0] * _AB_SCALE * (x0 + i)))
        col_v[i] = np.int32(np.rint(M[1, 0] * _AB_SCALE * (x0 + i)))
    # Per-row scratch, filled by a branch-free loop that LLVM vectorises: for each pixel the crop
    # index of its top-left tap and the four bilinear weights, a weight zeroed where its tap falls
    # outside the crop (constant-0 border). Tap indices are clamped so every load stays in bounds.
    taps = np.empty((n, 4), np.int32)
    wts = np.empty((n, 4), np.float32)
    for y in range(y0, y1):
        row_u = np.int32(np.rint((M[0, 1] * y + M[0, 2]) * _AB_SCALE)) + _ROUND_DELTA
        row_v = np.int32(np.rint((M[1, 1] * y + M[1, 2]) * _AB_SCALE)) + _ROUND_DELTA
        for i in range(n):
            U = (row_u + col_u[i]) >> _AB_TO_INTER
            V = (row_v + col_v[i]) >> _AB_TO_INTER
            su = U >> _INTER_BITS
            sv = V >> _INTER_BITS
            fu = np.float32(U & _INTER_MASK) * step
            fv = np.float32(V & _INTER_MASK) * step
            wu0 = one - fu if 0 <= su < r else zero
            wu1 = fu if -1 <= su < r - 1 else zero
            wv0 = one - fv if 0 <= sv < r else zero
            wv1 = fv if -1 <= sv < r - 1 else zero
            u0 = min(max(su, 0), r - 1)
            u1 = min(max(su + 1, 0), r - 1)
            v0 = min(max(sv, 0), r - 1) * r
            v1 = min(max(sv + 1, 0), r - 1) * r
            taps[i, 0] = v0 + u0
            taps[i, 1] = v0 + u1
            taps[i, 2] = v1 + u0
            taps[i, 3] = v1 + u1
            wts[i, 0] = wu0 * wv0
            wts[i, 1] = wu1 * wv0
            wts[i, 2] = wu0 * wv1
            wts[i, 3] = wu1 * wv1
        o = (y * w + x0) * 3
        for i in range(n):
            # Unsigned indices: they are never negative, and signed ones would make Numba add a
            # negative-index wraparound check to every load.
            t00, t10, t01, t11 = (
                np.uint64(taps[i, 0]),
                np.uint64(taps[i, 1]),
                np.uint64(taps[i, 2]),
                np.uint64(taps[i, 3]),
            )
            w00, w10, w01, w11 = wts[i, 0], wts[i, 1], wts[i, 2], wts[i, 3]
            a = w00 * alpha[t00] + w10 * alpha[t10] + w01 * alpha[t01] + w11 * alpha[t11]
            if a > zero:
                keep = one - a
                gain = a * np.float32(255.0)
                share = zero
                if with_detail:
                    share = (w00 * gains[t00] + w10 * gains[t10] + w01 * gains[t01] + w11 * gains[t11]) * a
                for c in range(3):
                    f = (
                        w00 * rgb[t00 * 3 + c]
                        + w10 * rgb[t10 * 3 + c]
                        + w01 * rgb[t01 * 3 + c]
                        + w11 * rgb[t11 * 3 + c]
                    )
                    val = np.float32(src[np.uint64(o + c)]) * keep + f * gain + np.float32(0.5)
                    if with_detail:
                        val += share * high[y - y0, i, c]
                    dst[np.uint64(o + c)] = np.uint8(min(max(val, zero), np.float32(255.0)))
            elif not in_place:
                for c in range(3):
                    dst[np.uint64(o + c)] = src[np.uint64(o + c)]
            o += 3


_NO_DETAIL_MASK = np.zeros((1, 1), np.float32)
_NO_HIGH = np.zeros((1, 1, 3), np.float32)


def high_pass(region: np.ndarray, sigma: float) -> np.ndarray:
    """Fine detail of a uint8 (h, w, 3) region: itself minus its Gaussian blur (σ in pixels), float32."""
    smooth = region.astype(np.float32)
    return smooth - cv2.GaussianBlur(smooth, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def detail_sigma(M: np.ndarray, crop_sigma: float = 1.0) -> float:
    """The frame-pixel σ of detail finer than ``crop_sigma`` crop pixels, for M (2, 3) frame → crop."""
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(M, np.float64)[:, :2]))))
    return crop_sigma / max(scale, 1e-6)


def paste_back(
    frame: np.ndarray,
    face: np.ndarray,
    mask: np.ndarray,
    M: np.ndarray,
    out: np.ndarray | None = None,
    detail_mask: np.ndarray | None = None,
) -> tuple[int, int, int, int]:
    """Warp the aligned face back into the frame and alpha-blend it, in one pass over the box the
    mask's non-zero part maps to.

    frame: (H, W, 3) uint8 BGR. face: (r, r, 3) float32 0..1 BGR in aligned space. mask: (r, r)
    float32 0..1 alpha in aligned space. M: (2, 3) float64, frame → crop.
    Writes ``out = frame * (1 - a) + face * 255 * a`` (rounded, clipped) where face and a are sampled
    bilinearly at ``M @ (x, y, 1)`` with a constant-0 border; out defaults to frame (in place).
    Only the returned box (x0, y0, x1, y1, half-open; empty for an all-zero mask) is read or written;
    with a separate ``out``, its pixels outside the box are left as they were.
    Same result as two ``cv2.warpAffine(..., (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
    borderMode=cv2.BORDER_CONSTANT)`` (face, mask) and the blend, within one grey level.

    detail_mask: optional (r, r) float32 in aligned space, how much of the frame's own detail finer
    than the model's resolution (:func:`high_pass` at :func:`detail_sigma`) to keep on the face, e.g.
    skin texture that a 128 px model cannot render onto a 300 px face:
    ``out = frame (1 − a) + (face · 255 + d · high_pass(frame)) a``.
    """
    h, w = frame.shape[:2]
    r = mask.shape[0]
    if face.shape != (r, r, 3) or mask.shape != (r, r):
        raise ValueError(f"face must be (r, r, 3) and mask (r, r), got {face.shape} and {mask.shape}")
    if face.dtype != np.float32 or mask.dtype != np.float32:
        raise ValueError(f"face and mask must be float32, got {face.dtype} and {mask.dtype}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or not frame.flags.c_contiguous:
        raise ValueError(f"frame must be C-contiguous (H, W, 3) uint8, got {frame.shape} {frame.dtype}")
    if out is None:
        out = frame
    elif out.shape != frame.shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous {frame.shape} uint8, got {out.shape} {out.dtype}")
    M = np.asarray(M, np.float64)
    mask = np.ascontiguousarray(mask)
    box = _paste_box(M, mask, w, h)
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        if detail_mask is not None and detail_mask.shape != (r, r):
            raise ValueError(f"detail_mask must be ({r}, {r}), got {detail_mask.shape}")
        with_detail = detail_mask is not None
        high = high_pass(frame[y0:y1, x0:x1], detail_sigma(M)) if with_detail else _NO_HIGH
        details = np.ascontiguousarray(detail_mask, np.float32) if with_detail else _NO_DETAIL_MASK
        _paste_kernel(
            frame, np.ascontiguousarray(face), mask, M, out, out is frame, x0, y0, x1, y1, details, high, with_detail
        )
    return box
