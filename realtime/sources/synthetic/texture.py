"""The texture atlas of one synthetic person, painted in UV space: face skin, eyes, brows, nose,
lips, beard and hairline; head shell with ears and hair; neck and shirt; eyeball; mouth interior;
long-hair sheet. Every surface of the rig samples this one atlas."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .identity import Identity
from .maths import smoothstep, sphere_point
from .mesh import FaceTemplate, ear_bump

# Atlas layout (rows, cols of the 1024² RGBA texture shared by every surface).
ATLAS_SIZE = 1024
FACE = (0, 0, 512)  # row, col, size: face texture, template x/y mapped uniformly
HEAD = (0, 512, 512)  # head shell: u = longitude around the face outline, v = angle from the front
BODY = (512, 0, 512, 256)  # row, col, width, height: neck + shoulders, u = angle, v = height
EYE = (832, 128, 380.0)  # centre row, centre col, px per template unit: sclera/iris/pupil
_EYE_HALF = (64, 128)  # half height, half width of the eye texture around its centre
MOUTH = (896, 0, 256, 128)  # row, col, width, height: mouth interior
SHEET = (512, 512, 512)  # long-hair sheet with alpha

IRIS_RADIUS = 0.062  # template units (outer inter-ocular distance = 1)


def paint_atlas(
    t: FaceTemplate,
    p: Identity,
    face: np.ndarray,
    face_uv_map: tuple[np.ndarray, float],
    head_theta0: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(1024, 1024, 4) uint8 BGRA texture atlas for one identity (layout: module constants).

    ``face_uv_map`` (lo, scale) maps template x, y to face-texture pixels; ``head_theta0`` is the
    longitude at the head texture's u = 0. The layers draw from ``rng`` in a fixed order."""
    atlas = np.zeros((ATLAS_SIZE, ATLAS_SIZE, 4), np.float32)
    atlas[..., 3] = 255
    canvas = _FaceCanvas(face, face_uv_map, p.skin)
    _paint_skin(canvas, p, rng)
    _paint_eyelids(canvas, t, p)
    _paint_brows(canvas, t, p, rng)
    _paint_nostrils(canvas, p)
    lip_mask = _paint_lips(canvas, t, p)
    if p.beard > 0:
        _paint_beard(canvas, t, p, lip_mask, rng)
    if p.hair.fringe > 0:
        _paint_hairline(canvas, t, p, rng)
    _place(atlas, FACE, canvas.tex)
    _place(atlas, HEAD, _head_texture(p, head_theta0, rng))
    _place(atlas, BODY, _body_texture(p, rng))
    (er, ec, _), (hh, hw) = EYE, _EYE_HALF
    atlas[er - hh : er + hh, ec - hw : ec + hw, :3] = _eye_texture(p)
    _place(atlas, MOUTH, _mouth_texture())
    sheet, alpha = _sheet_texture(p, rng)
    _place(atlas, SHEET, sheet)
    atlas[SHEET[0] : SHEET[0] + SHEET[2], SHEET[1] : SHEET[1] + SHEET[2], 3] = alpha * 255
    return np.clip(atlas, 0, 255).astype(np.uint8)


def _place(atlas: np.ndarray, area: tuple, tex: np.ndarray) -> None:
    """Copy ``tex`` (BGR) into the atlas at ``area`` (row, col, ...), a layout constant."""
    row, col = area[:2]
    atlas[row : row + tex.shape[0], col : col + tex.shape[1], :3] = tex


def _soft_poly(shape: tuple[int, int], polys: list[np.ndarray], blur: float) -> np.ndarray:
    """0..1 float32 mask of filled polygons (pixel coordinates), edges softened by ``blur`` px."""
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(p * 16).astype(np.int32) for p in polys], (1.0,), cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), blur) if blur > 0 else mask


def _soft_line(shape: tuple[int, int], pts: np.ndarray, thickness: float, blur: float) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.polylines(
        mask, [np.round(pts * 16).astype(np.int32)], False, (1.0,), max(1, int(round(thickness))), cv2.LINE_AA, shift=4
    )
    return cv2.GaussianBlur(mask, (0, 0), blur)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Zero-mean, unit-ish float32 noise with features about shape/cells pixels wide."""
    coarse = rng.standard_normal((cells + 3, cells + 3)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _strands(rng: np.random.Generator, shape: tuple[int, int], length: float, curl: bool = False) -> np.ndarray:
    """Hair-like streaks along the rows' direction (v), 0..1 float32."""
    n = rng.standard_normal(shape).astype(np.float32)
    if curl:
        s = cv2.GaussianBlur(n, (0, 0), 2.0)
        s = np.abs(np.sin(s * 6.0))
    else:
        s = cv2.GaussianBlur(n, (0, 0), sigmaX=0.8, sigmaY=length)
        s = s / (s.std() + 1e-6)
    s = (s - s.min()) / (s.max() - s.min() + 1e-6)
    return s.astype(np.float32)


def _mix(tex: np.ndarray, color: Any, alpha: np.ndarray) -> None:
    """tex ← tex·(1-α) + color·α in place; color is a BGR triple or an image."""
    tex += (np.asarray(color, np.float32) - tex) * alpha[..., None]


# ----------------------------------------------------------------------------------------- face layers
class _FaceCanvas:
    """The face texture being painted, with the face's landmarks in its pixel coordinates."""

    def __init__(self, face: np.ndarray, face_uv_map: tuple[np.ndarray, float], skin: tuple[int, int, int]):
        self.n = n = FACE[2]
        self.shape = (n, n)
        lo, self.scale = face_uv_map
        self.lm = (face[:, :2] - lo) * self.scale
        self.tex = np.empty((n, n, 3), np.float32)
        self.tex[:] = np.array(skin, np.float32)
        self.yy, self.xx = np.mgrid[0:n, 0:n].astype(np.float32)

    def blob(self, centre: np.ndarray, sigma_units: float, aspect: float = 1.0) -> np.ndarray:
        """A Gaussian spot at ``centre`` (pixels), ``sigma_units`` template units wide."""
        c = np.asarray(centre, np.float32)
        s = sigma_units * self.scale
        return np.exp(-(((self.xx - c[0]) / s) ** 2 + ((self.yy - c[1]) / (s * aspect)) ** 2) / 2)

    def mix(self, color: Any, alpha: np.ndarray) -> None:
        _mix(self.tex, color, alpha)


def _paint_skin(c: _FaceCanvas, p: Identity, rng: np.random.Generator) -> None:
    """Mottling, redness over cheeks, nose and chin, freckles."""
    n, lm, skin = c.n, c.lm, np.array(p.skin, np.float32)
    c.tex *= (
        1
        + 0.05 * _smooth_noise(rng, (n, n), 5)
        + 0.025 * _smooth_noise(rng, (n, n), 40)
        + 0.015 * rng.standard_normal((n, n)).astype(np.float32)
    )[..., None]
    red = skin * np.array([0.88, 0.86, 1.04], np.float32)
    redness = (
        0.45 * (c.blob(lm[50], 0.16) + c.blob(lm[280], 0.16))
        + 0.35 * c.blob(lm[1], 0.07)
        + 0.2 * c.blob(lm[152] * 0.7 + lm[17] * 0.3, 0.1)
    )
    c.mix(red, np.clip(redness, 0, 1))
    if p.freckles > 0:
        dots = (rng.uniform(size=(n, n)) > 0.995).astype(np.float32)
        dots = cv2.GaussianBlur(dots, (0, 0), 1.6) * 6
        area = c.blob(lm[1] * 0.4 + (lm[50] + lm[280]) * 0.3, 0.35, 0.5)
        c.mix(skin * 0.78, np.clip(dots * area * p.freckles, 0, 0.8))


def _paint_eyelids(c: _FaceCanvas, t: FaceTemplate, p: Identity) -> None:
    """Eye sockets, lid creases, lashes and the lower lid line."""
    lm, scale, skin = c.lm, c.scale, np.array(p.skin, np.float32)
    for upper, lower in t.eyes:
        centre = lm[np.concatenate([upper, lower])].mean(0)
        c.mix(skin * np.array([0.8, 0.76, 0.8], np.float32), 0.35 * c.blob(centre + [0, -0.02 * scale], 0.12, 0.7))
        crease = lm[upper] + np.array([0, -0.045 * scale])
        c.mix(skin * 0.72, 0.35 * _soft_line(c.shape, crease, 0.015 * scale, 0.012 * scale))
        lash = np.vstack([lm[upper], lm[upper[0]] + (lm[upper[0]] - lm[upper[1]]) * 0.8])
        c.mix((25, 22, 25), 0.9 * _soft_line(c.shape, lash, 0.022 * scale, 0.006 * scale))
        c.mix((40, 35, 40), 0.35 * _soft_line(c.shape, lm[lower], 0.01 * scale, 0.005 * scale))


def _paint_brows(c: _FaceCanvas, t: FaceTemplate, p: Identity, rng: np.random.Generator) -> None:
    """A band between mediapipe's two brow rows, thickened about its midline, with strands."""
    lm, scale = c.lm, c.scale
    brow_color = np.minimum(np.array(p.hair_color, np.float32) * 0.8 + 10, np.array(p.skin, np.float32) * 0.5)
    for upper_row, lower_row in ((t.brow_r_upper, t.brow_r_lower), (t.brow_l_upper, t.brow_l_lower)):
        top, bottom = lm[upper_row].copy(), lm[lower_row].copy()
        mid = (top + bottom) / 2
        half = (top - bottom) / 2 * 0.9 * p.brow_thickness
        arch = np.sin(np.linspace(0.15, 1.0, len(mid)) * np.pi)[:, None] * np.array([0, -0.03 * scale * p.brow_arch])
        taper = np.linspace(0.55, 1.0, len(mid))[:, None]  # thin at the temple end
        poly = np.vstack([mid + half * taper + arch, (mid - half * taper + arch)[::-1]])
        mask = _soft_poly(c.shape, [poly], 0.008 * scale)
        strands = 0.55 + 0.45 * _strands(rng, c.shape, 1.5)
        c.mix(brow_color, np.clip(mask * strands * 0.95, 0, 1))


def _paint_nostrils(c: _FaceCanvas, p: Identity) -> None:
    lm, scale = c.lm, c.scale
    for alar in (98, 327):
        centre = lm[alar] * 0.55 + lm[2] * 0.45 + np.array([0, -0.012 * scale])
        mask = np.zeros(c.shape, np.float32)
        cv2.ellipse(
            mask, (int(centre[0]), int(centre[1])), (int(0.045 * scale), int(0.02 * scale)), 0, 0, 360, (1.0,), -1
        )
        c.mix(np.array(p.skin, np.float32) * 0.35, 0.8 * cv2.GaussianBlur(mask, (0, 0), 0.01 * scale))


def _paint_lips(c: _FaceCanvas, t: FaceTemplate, p: Identity) -> np.ndarray:
    """Lip colour, the darker line where they meet and a highlight; returns the lips' mask."""
    lm, scale = c.lm, c.scale
    lips = np.vstack([lm[t.lips_upper], lm[t.lips_lower][::-1]])
    lip_mask = _soft_poly(c.shape, [lips], 0.008 * scale)
    lip_color = np.array(p.lip_color, np.float32)
    c.mix(lip_color, 0.85 * lip_mask)
    c.mix(lip_color * 0.6, 0.6 * _soft_line(c.shape, np.vstack([lm[t.mouth_upper]]), 0.01 * scale, 0.006 * scale))
    c.mix(np.minimum(lip_color * 1.15 + 10, 255), 0.3 * c.blob(lm[14] * 0.5 + lm[17] * 0.5, 0.04, 0.5) * lip_mask)
    return lip_mask


def _paint_beard(c: _FaceCanvas, t: FaceTemplate, p: Identity, lip_mask: np.ndarray, rng: np.random.Generator) -> None:
    """Stubble over the lower face and upper lip, clear of the lips."""
    lm, scale = c.lm, c.scale
    inside = _soft_poly(c.shape, [lm[t.oval]], 0.01 * scale)
    top = lm[[98, 327, 2], 1].mean() + 0.02 * scale
    jaw_band = smoothstep((c.yy - top) / (0.2 * scale))
    cheeks = 1 - c.blob(lm[50], 0.17) - c.blob(lm[280], 0.17)
    beard = inside * np.clip(jaw_band * np.clip(cheeks, 0, 1), 0, 1)
    beard *= 1 - np.clip(cv2.GaussianBlur(cv2.dilate(lip_mask, np.ones((5, 5), np.uint8)), (0, 0), 2) * 1.3, 0, 1)
    grain = 0.5 + 0.5 * _strands(rng, c.shape, 2.0, curl=p.beard > 0.6)
    c.mix(np.array(p.hair_color, np.float32) * 0.9, np.clip(beard * grain * min(1.0, p.beard * 1.2), 0, 0.95))


def _paint_hairline(c: _FaceCanvas, t: FaceTemplate, p: Identity, rng: np.random.Generator) -> None:
    """Hair coming down from the top of the outline onto the forehead (hairline / fringe)."""
    n, lm, scale, style = c.n, c.lm, c.scale, p.hair
    inside_hard = (_soft_poly(c.shape, [lm[t.oval]], 0) > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside_hard, cv2.DIST_L2, 5)
    brow_y = lm[np.concatenate([t.brow_r_upper, t.brow_l_upper]), 1].min()
    reach = (0.04 + 0.22 * p.hairline) * scale * (1 + 0.15 * _smooth_noise(rng, (n, n), 8))
    fringe = smoothstep((reach - dist) / (0.03 * scale)) * (c.yy < brow_y - 0.05 * scale)
    fringe *= style.fringe
    hair = np.array(p.hair_color, np.float32)
    c.mix(hair * (0.75 + 0.5 * _strands(rng, (n, n), 8.0, style.curly))[..., None], np.clip(fringe, 0, 1))


# ----------------------------------------------------------------------------------------- other surfaces
def _head_texture(p: Identity, head_theta0: float, rng: np.random.Generator) -> np.ndarray:
    """Head shell: skin, ears and hair by longitude/angle from the front."""
    n = HEAD[2]
    skin, hair = np.array(p.skin, np.float32), np.array(p.hair_color, np.float32)
    vv, uu = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 3)
    unit = sphere_point(head_theta0 + uu * 2 * np.pi, vv * np.pi)
    tex = np.empty((n, n, 3), np.float32)
    tex[:] = skin * 0.96
    tex *= (1 + 0.04 * _smooth_noise(rng, (n, n), 6))[..., None]
    ear = ear_bump(unit.reshape(-1, 3)).reshape(n, n) / 0.13
    _mix(tex, skin * np.array([0.85, 0.85, 1.0], np.float32), 0.5 * ear)
    _mix(tex, skin * 0.6, 0.5 * np.clip((ear - 0.6) / 0.3, 0, 1))
    strands = _strands(rng, (n, n), 10.0, p.hair.curly)
    hair_tex = hair * (0.75 + 0.45 * strands)[..., None]
    _mix(tex, hair_tex, np.clip(p.hair.mask(unit) * p.hair.density, 0, 1))
    return tex


def _body_texture(p: Identity, rng: np.random.Generator) -> np.ndarray:
    """Neck and shoulders: skin above a neckline, shirt below."""
    bw, bh = BODY[2], BODY[3]
    skin = np.array(p.skin, np.float32)
    vv, uu = np.mgrid[0:bh, 0:bw].astype(np.float32)
    height = 0.35 + vv / (bh - 3) * (6.5 - 0.35)
    angle = (uu / (bw - 3) - 0.5) * np.radians(230)
    neckline = 1.8 + (0.45 + 0.3 * (rng.uniform() - 0.5)) * np.cos(np.clip(angle * 1.4, -np.pi / 2, np.pi / 2)) ** 2
    tex = np.empty((bh, bw, 3), np.float32)
    tex[:] = skin * 0.93
    shade = 0.72 + 0.28 * smoothstep((height - 0.5) / 1.0)  # the jaw's shadow on the neck
    tex *= shade[..., None]
    shirt = np.array(p.shirt, np.float32) * (1 + 0.08 * _smooth_noise(rng, (bh, bw), 10))[..., None]
    _mix(tex, shirt, smoothstep((height - neckline) / 0.05))
    return tex


def _eye_texture(p: Identity) -> np.ndarray:
    """Sclera, iris with radial fibres and a limbal ring, pupil, catchlight."""
    hh, hw = _EYE_HALF
    vv, uu = np.mgrid[-hh:hh, -hw:hw].astype(np.float32) / EYE[2]
    r = np.hypot(uu, vv)
    sclera = np.array([215, 222, 232], np.float32) * (1 - 0.2 * smoothstep((np.abs(uu) - 0.05) / 0.15))[..., None]
    tex = sclera.copy()
    ang = np.arctan2(vv, uu)
    fibres = 0.75 + 0.25 * np.sin(ang * 37 + 3 * np.sin(ang * 5)) * (0.6 + 0.4 * np.sin(ang * 11))
    iris_color = (
        np.array(p.eye_color, np.float32)[None, None, :]
        * fibres[..., None]
        * (0.8 + 0.4 * (r / IRIS_RADIUS))[..., None]
    )
    iris = smoothstep((IRIS_RADIUS - r) / 0.006)
    _mix(tex, iris_color, iris)
    _mix(tex, iris_color * 0.35, iris * smoothstep((r - 0.8 * IRIS_RADIUS) / (0.2 * IRIS_RADIUS)))
    _mix(tex, (12, 10, 10), smoothstep((0.4 * IRIS_RADIUS - r) / 0.004))
    catch = np.exp(-(((uu - 0.018) ** 2 + (vv + 0.02) ** 2) / (2 * 0.007**2)))
    _mix(tex, (250, 250, 250), 0.8 * catch)
    return tex


def _mouth_texture() -> np.ndarray:
    """Mouth interior: upper teeth under the upper lip, dark throat, tongue low."""
    _, _, mw, mh = MOUTH
    vv, uu = np.mgrid[0:mh, 0:mw].astype(np.float32)
    u, v = uu / (mw - 3), vv / (mh - 3)
    tex = np.empty((mh, mw, 3), np.float32)
    tex[:] = np.array([70, 70, 150], np.float32)
    tex *= (1 - 0.6 * np.exp(-(((u - 0.5) / 0.25) ** 2 + ((v - 0.5) / 0.25) ** 2)))[..., None]
    teeth = smoothstep((0.32 - v) / 0.06) * smoothstep((0.36 - np.abs(u - 0.5)) / 0.08)
    gaps = 0.85 + 0.15 * np.abs(np.cos((u - 0.5) * np.pi * 10))
    _mix(tex, np.array([200, 215, 225], np.float32) * gaps[..., None], teeth)
    tongue = np.exp(-(((u - 0.5) / 0.22) ** 2 + ((v - 0.85) / 0.12) ** 2))
    _mix(tex, np.array([90, 90, 170], np.float32), 0.8 * tongue)
    return tex


def _sheet_texture(p: Identity, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Long-hair sheet: strands (BGR), and its rounded outline as a bool alpha."""
    n = SHEET[2]
    hair = np.array(p.hair_color, np.float32)
    vv, uu = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1)
    strands = _strands(rng, (n, n), 16.0, p.hair.curly)
    across = (uu - 0.5) * 2  # -1..1 over the sheet's width
    width = 0.78 + 0.22 * smoothstep(vv / 0.35)  # hugs the head at the top, falls wider below
    roundness = np.sqrt(np.clip(np.cos(np.clip(across / width, -1, 1) * np.pi / 2), 0, 1))  # fake volume: darker edges
    tex = hair[None, None, :] * ((0.65 + 0.45 * strands) * (0.55 + 0.45 * roundness) * (1 - 0.25 * vv))[..., None]
    bottom = 0.97 - 0.12 * (across / width) ** 2
    return tex, (vv < bottom) & (np.abs(across) < width)
