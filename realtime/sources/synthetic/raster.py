"""Numba cores of the synthetic camera's renderer: vertex normals and a z-buffered, textured,
Gouraud-lit triangle rasterizer. Compiled once and cached next to this file (``cache=True``)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def vertex_normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals (P, 3) float32 of positions ``pos`` (P, 3) over ``tris`` (T, 3)."""
    out = np.zeros(pos.shape, np.float32)
    for t in range(tris.shape[0]):
        a, b, c = tris[t, 0], tris[t, 1], tris[t, 2]
        e1x, e1y, e1z = pos[b, 0] - pos[a, 0], pos[b, 1] - pos[a, 1], pos[b, 2] - pos[a, 2]
        e2x, e2y, e2z = pos[c, 0] - pos[a, 0], pos[c, 1] - pos[a, 1], pos[c, 2] - pos[a, 2]
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        for v in (a, b, c):
            out[v, 0] += nx
            out[v, 1] += ny
            out[v, 2] += nz
    for v in range(pos.shape[0]):
        n = math.sqrt(out[v, 0] ** 2 + out[v, 1] ** 2 + out[v, 2] ** 2)
        if n > 0:
            out[v, 0] /= n
            out[v, 1] /= n
            out[v, 2] /= n
    return out


@njit(cache=True, nogil=True)
def rasterize(xy, depth, uv, light, spec, tris, cull, alpha_test, atlas, out, zbuf):
    """Z-buffered, Gouraud-lit, textured triangles into ``out`` (h, w, 3) uint8 in place.

    xy (N, 2) float32 pixel coordinates relative to ``out``; depth (N,) float32 camera z (smaller is
    nearer); uv (N, 2) float32 atlas pixel coordinates (x, y); light (N, 3) float32 per-channel
    multipliers; spec (N,) float32 added white in 0..1; tris (T, 3) int32; cull (T,) bool drops
    triangles facing away (non-negative signed area); alpha_test (T,) bool skips texels with alpha
    below half; atlas (A, A, 4) uint8 BGRA; zbuf (h, w) float32 initialised to +inf.
    """
    h, w = zbuf.shape
    amax = atlas.shape[0] - 2
    for t in range(tris.shape[0]):
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        x0, y0, x1, y1, x2, y2 = xy[i0, 0], xy[i0, 1], xy[i1, 0], xy[i1, 1], xy[i2, 0], xy[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        if (cull[t] and area >= 0) or abs(area) < 1e-9:
            continue
        inv = 1.0 / area
        xmin = max(int(math.floor(min(x0, x1, x2))), 0)
        xmax = min(int(math.ceil(max(x0, x1, x2))), w - 1)
        ymin = max(int(math.floor(min(y0, y1, y2))), 0)
        ymax = min(int(math.ceil(max(y0, y1, y2))), h - 1)
        for py in range(ymin, ymax + 1):
            cy = py + 0.5
            for px in range(xmin, xmax + 1):
                cx = px + 0.5
                b0 = ((x1 - cx) * (y2 - cy) - (x2 - cx) * (y1 - cy)) * inv
                b1 = ((x2 - cx) * (y0 - cy) - (x0 - cx) * (y2 - cy)) * inv
                b2 = 1.0 - b0 - b1
                # A hair of slack closes pinholes along shared edges; the z-test settles overlaps.
                if b0 < -1e-5 or b1 < -1e-5 or b2 < -1e-5:
                    continue
                d = b0 * depth[i0] + b1 * depth[i1] + b2 * depth[i2]
                if d >= zbuf[py, px]:
                    continue
                u = b0 * uv[i0, 0] + b1 * uv[i1, 0] + b2 * uv[i2, 0] - 0.5
                v = b0 * uv[i0, 1] + b1 * uv[i1, 1] + b2 * uv[i2, 1] - 0.5
                u = min(max(u, 0.0), amax)
                v = min(max(v, 0.0), amax)
                iu, iv = int(u), int(v)
                fu, fv = u - iu, v - iv
                w00, w01, w10, w11 = (1 - fu) * (1 - fv), fu * (1 - fv), (1 - fu) * fv, fu * fv
                if alpha_test[t]:
                    a = (
                        w00 * atlas[iv, iu, 3]
                        + w01 * atlas[iv, iu + 1, 3]
                        + w10 * atlas[iv + 1, iu, 3]
                        + w11 * atlas[iv + 1, iu + 1, 3]
                    )
                    if a < 128:
                        continue
                zbuf[py, px] = d
                s = 255.0 * (b0 * spec[i0] + b1 * spec[i1] + b2 * spec[i2])
                for ch in range(3):
                    tex = (
                        w00 * atlas[iv, iu, ch]
                        + w01 * atlas[iv, iu + 1, ch]
                        + w10 * atlas[iv + 1, iu, ch]
                        + w11 * atlas[iv + 1, iu + 1, ch]
                    )
                    lit = b0 * light[i0, ch] + b1 * light[i1, ch] + b2 * light[i2, ch]
                    out[py, px, ch] = min(max(tex * lit + s, 0.0), 255.0)
