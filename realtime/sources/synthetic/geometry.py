"""The rig's geometry for one identity, built part by part: face, head shell (skull, hair volume,
ears), neck and shoulders, eye caps, mouth cap, long-hair sheet.

Positions (P, 3) are shared points: the 468 face vertices first, then each part's own. Render vertices
(N) point at a position and carry their own atlas uv, light gain and specular weight, so one position
can appear with different textures (face skin vs. eye cap at the eyelid rim)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

from .identity import HairStyle, Identity
from .maths import smoothstep, sphere_point
from .mesh import FaceTemplate, ear_bump
from .texture import BODY, FACE, HEAD, MOUTH, SHEET

EYE_CAP_DEPTH = 0.05  # how far behind its rim an eye cap's centre sits (template units)
MOUTH_CAP_DEPTH = 0.12
_SHELL_RINGS = 9  # rings of the head shell between the face outline and the back pole
_Angle = TypeVar("_Angle", float, np.ndarray)  # one angle, or an array of them


class EyeCap(NamedTuple):
    """A fan closing one eye opening; its uv is recomputed every frame so the iris stays put (and
    follows the gaze) while the lids move over it."""

    vertices: np.ndarray  # render vertices: the rim, then the centre
    positions: np.ndarray  # positions: the lid loop, then the centre
    rest_centre: np.ndarray  # (2,) template x, y of the opening's centre at rest


@dataclass(frozen=True)
class RigGeometry:
    """Everything the renderer needs of one identity's surfaces, fixed for the whole video."""

    rest: np.ndarray  # (P, 3) float64 positions at rest
    rv_pos: np.ndarray  # (N,) int64: position of each render vertex
    rv_uv: np.ndarray  # (N, 2) float32 atlas pixel coordinates (x, y)
    rv_gain: np.ndarray  # (N,) float32 light multiplier
    rv_spec: np.ndarray  # (N,) float32 specular weight
    tris: np.ndarray  # (T, 3) int32 render vertices
    cull: np.ndarray  # (T,) bool: drop when facing away
    alpha_test: np.ndarray  # (T,) bool: skip texels with alpha below half
    pos_tris: np.ndarray  # (L, 3) int32 positions of the triangles that shape the vertex normals
    lit_positions: np.ndarray  # positions those triangles use; caps and sheet shape no normals
    body_positions: np.ndarray  # neck and shoulders: they turn less than the head
    eye_caps: tuple[EyeCap, ...]  # the person's right eye, then the left
    mouth_centre: int  # position of the mouth cap's centre
    face_uv_map: tuple[np.ndarray, float]  # (lo, scale): template x, y → face texture pixels
    head_theta0: float  # longitude at the head texture's u = 0


def cap_centre(face: np.ndarray, loop: np.ndarray, depth: float) -> np.ndarray:
    """Centre of a cap over the opening ``loop``: its rim's mean, set ``depth`` back."""
    return np.array([*face[loop, :2].mean(0), face[loop, 2].mean() + depth])


def build_geometry(t: FaceTemplate, face: np.ndarray, identity: Identity) -> RigGeometry:
    """All parts around ``face`` (the identity's deformed template vertices, (468, 3))."""
    mesh = _Builder(face)
    face_uv_map = _add_face(mesh, t, face)
    shell = _shell_frame(t, face)
    _add_head_shell(mesh, shell, face, identity.hair)
    body_positions = _add_body(mesh, identity.face_width)
    lit_tris = len(mesh.tris)  # the closed skin so far shapes the vertex normals; caps and sheet do not
    eye_caps = tuple(_add_eye_cap(mesh, face, upper, lower) for upper, lower in t.eyes)
    mouth_centre = _add_mouth_cap(mesh, t, face)
    if identity.hair.sheet is not None:
        _add_hair_sheet(mesh, identity.hair.sheet, shell.centre[2] + 0.25)
    rv_pos = np.array(mesh.rv_pos, np.int64)
    tris = np.array(mesh.tris, np.int32)
    pos_tris = rv_pos[tris[:lit_tris]].astype(np.int32)
    return RigGeometry(
        rest=np.concatenate(mesh.positions).astype(np.float64),
        rv_pos=rv_pos,
        rv_uv=np.array(mesh.rv_uv, np.float32),
        rv_gain=np.array(mesh.rv_gain, np.float32),
        rv_spec=np.array(mesh.rv_spec, np.float32),
        tris=tris,
        cull=np.array([f[0] for f in mesh.flags]),
        alpha_test=np.array([f[1] for f in mesh.flags]),
        pos_tris=pos_tris,
        lit_positions=np.unique(pos_tris),
        body_positions=body_positions,
        eye_caps=eye_caps,
        mouth_centre=mouth_centre,
        face_uv_map=face_uv_map,
        head_theta0=shell.theta[0],
    )


class _Builder:
    """Positions, render vertices and triangles as the parts are added; indices are final when given."""

    def __init__(self, face: np.ndarray):
        self.positions: list[np.ndarray] = [face]
        self.position_count = len(face)
        self.rv_pos: list[int] = []
        self.rv_uv: list[tuple[float, float]] = []
        self.rv_gain: list[float] = []
        self.rv_spec: list[float] = []
        self.tris: list[tuple[int, int, int]] = []
        self.flags: list[tuple[bool, bool]] = []  # cull, alpha test

    def position(self, p: np.ndarray) -> int:
        self.positions.append(p[None])
        self.position_count += 1
        return self.position_count - 1

    def vertex(self, p: int, uv: tuple[float, float], gain: float = 1.0, spec: float = 0.0) -> int:
        self.rv_pos.append(p)
        self.rv_uv.append(uv)
        self.rv_gain.append(gain)
        self.rv_spec.append(spec)
        return len(self.rv_pos) - 1

    def add(self, tris: list, cull: bool = True, alpha_test: bool = False) -> None:
        self.tris += tris
        self.flags += [(cull, alpha_test)] * len(tris)

    def corners(self, tris: list) -> list[np.ndarray]:
        """Positions (3, 3) of each triangle's corners, to orient triangles before adding them."""
        positions = np.concatenate(self.positions)
        rv_pos = np.array(self.rv_pos)
        return [positions[rv_pos[list(tri)]] for tri in tris]


def _add_face(mesh: _Builder, t: FaceTemplate, face: np.ndarray) -> tuple[np.ndarray, float]:
    """The template's triangles; uv is the frontal template x, y mapped uniformly into the face
    texture. Returns that map (lo, scale)."""
    lo = face[:, :2].min(0) - 0.06
    scale = (FACE[2] - 2) / (face[:, :2].max(0) + 0.06 - lo).max()
    face_uv = (face[:, :2] - lo) * scale + np.array([FACE[1], FACE[0]])
    tzone = np.exp(-(face[:, 0] ** 2) / 0.02) * (face[:, 1] < 0.9)
    for i in range(468):
        mesh.vertex(i, tuple(face_uv[i]), 1.0, 0.10 + 0.12 * tzone[i])
    mesh.add([tuple(tri) for tri in t.triangles.tolist()])
    return lo, scale


class _ShellFrame(NamedTuple):
    """The skull-shaped ellipsoid behind the face, and where the face outline sits on it."""

    centre: np.ndarray
    radii_up: np.ndarray  # semi-axes of the upper half
    radii_down: np.ndarray  # of the lower half, flatter towards the jaw
    outline: np.ndarray  # face outline vertices, walked so the longitude grows (like the texture's u)
    theta: np.ndarray  # longitude of each outline vertex about the view axis
    phi: np.ndarray  # its angle from the front
    radii: np.ndarray  # (len(outline), 3) the semi-axes that apply at each outline vertex


def _shell_frame(t: FaceTemplate, face: np.ndarray) -> _ShellFrame:
    centre = np.array([0.0, face[t.oval, 1].mean() - 0.05, face[[234, 454], 2].mean() + 0.15])
    radii_up = np.array([np.abs(face[t.oval, 0]).max() * 1.03, 1.25, 1.05])
    radii_down = radii_up * np.array([1.0, 0.85, 1.0])
    outline = t.oval if _winding(face[t.oval, :2]) > 0 else np.roll(t.oval[::-1], 1)
    d = face[outline] - centre
    radii = np.where((d[:, 1] > 0)[:, None], radii_down, radii_up)
    n = d / radii
    theta = np.unwrap(np.arctan2(n[:, 1], n[:, 0]))
    phi = np.arccos(np.clip(-n[:, 2] / np.linalg.norm(n, axis=1), -1, 1))
    return _ShellFrame(centre, radii_up, radii_down, outline, theta, phi, radii)


def _ring_fraction(k: int) -> float:
    """How far ring ``k`` lies from the face outline (0) towards the back pole (1, which the last
    ring stops short of: the pole closes it)."""
    return k / (_SHELL_RINGS + 0.6)


def _ring_phi(phi: _Angle, k: int) -> _Angle:
    """Angle from the front of ring ``k`` above outline points at angle ``phi``."""
    return phi + (np.pi - phi) * _ring_fraction(k)


def _add_head_shell(mesh: _Builder, s: _ShellFrame, face: np.ndarray, hair: HairStyle) -> None:
    """Rings from the face outline back over the skull to a back pole, lifted by hair and ears."""
    ring_positions = np.zeros((len(s.outline), _SHELL_RINGS + 1), np.int64)
    ring_positions[:, 0] = s.outline
    outline_on_ellipsoid = s.centre + sphere_point(s.theta, s.phi) * s.radii
    for k in range(1, _SHELL_RINGS + 1):
        f = _ring_fraction(k)
        unit = sphere_point(s.theta, _ring_phi(s.phi, k))
        rad = np.where((unit[:, 1] > 0)[:, None], s.radii_down, s.radii_up)
        # Near the face the rings blend from the outline itself onto the ellipsoid.
        base = s.centre + unit * rad + (face[s.outline] - outline_on_ellipsoid) * (1 - f) ** 3
        lift = hair.volume(unit) * min(1.0, k / 2.5) + ear_bump(unit)
        pts = base + unit * lift[:, None]
        for j in range(len(s.outline)):
            ring_positions[j, k] = mesh.position(pts[j])
    back_unit = np.array([[0.0, 0.0, 1.0]])
    back = mesh.position(s.centre + back_unit[0] * (s.radii_up[2] + hair.volume(back_unit)[0]))
    _add_shell_surface(mesh, s, ring_positions, back)


def _add_shell_surface(mesh: _Builder, s: _ShellFrame, ring_positions: np.ndarray, back: int) -> None:
    """Shell render vertices: u along the outline's longitude, v along the angle from the front.
    The outline's first column is repeated at u = 1 so no triangle spans the texture seam."""

    def head_uv(th: float, ph: float) -> tuple[float, float]:
        return (HEAD[1] + 1 + (th - s.theta[0]) / (2 * np.pi) * (HEAD[2] - 3), HEAD[0] + 1 + ph / np.pi * (HEAD[2] - 3))

    count = len(s.outline)
    grid = np.zeros((count + 1, _SHELL_RINGS + 1), np.int64)
    for j in range(count + 1):
        jj = j % count
        th = s.theta[jj] + (2 * np.pi if j == count else 0.0)
        for k in range(_SHELL_RINGS + 1):
            grid[j, k] = mesh.vertex(
                int(ring_positions[jj, k]), head_uv(th, _ring_phi(s.phi[jj], k)), 1.0, 0.08 if k else 0.10
            )
    back_rv = mesh.vertex(back, head_uv(s.theta[0] + np.pi, np.pi - 1e-3), 1.0, 0.05)
    tris = []
    for j in range(count):
        for k in range(_SHELL_RINGS):
            a, b, c, e = grid[j, k], grid[j + 1, k], grid[j, k + 1], grid[j + 1, k + 1]
            tris += [(a, b, c), (b, e, c)]
        tris.append((grid[j, _SHELL_RINGS], grid[j + 1, _SHELL_RINGS], back_rv))
    mesh.add([_outward(tri, pts, s.centre) for tri, pts in zip(tris, mesh.corners(tris), strict=True)])


def _add_body(mesh: _Builder, face_width: float) -> np.ndarray:
    """Neck and shoulders: an elliptic section growing from neck to shoulder width, front half
    only. Returns their positions."""
    first = mesh.position_count
    heights = np.array([0.35, 1.0, 1.4, 1.7, 1.95, 2.2, 2.45, 2.75, 3.3, 4.5, 6.5])
    angles = np.radians(np.linspace(-115, 115, 15))
    grow = smoothstep((heights - 1.6) / 0.9)
    half_w = 0.56 + (2.15 + 0.25 * face_width - 0.56) * grow
    half_d = 0.5 + 0.45 * grow
    grid = np.zeros((len(heights), len(angles)), np.int64)
    for r, y in enumerate(heights):
        for c, a in enumerate(angles):
            p = mesh.position(np.array([half_w[r] * math.sin(a), y, 0.95 - half_d[r] * math.cos(a)]))
            uv = (
                BODY[1] + 1 + c / (len(angles) - 1) * (BODY[2] - 3),
                BODY[0] + 1 + r / (len(heights) - 1) * (BODY[3] - 3),
            )
            grid[r, c] = mesh.vertex(p, uv, 1.0, 0.04)
    tris = []
    for r in range(len(heights) - 1):
        for c in range(len(angles) - 1):
            a, b, cc, e = grid[r, c], grid[r, c + 1], grid[r + 1, c], grid[r + 1, c + 1]
            tris += [(a, cc, b), (b, cc, e)]
    axis = np.array([0.0, 0.0, 0.95])
    mesh.add([_outward(tri, pts, axis, vertical_axis=True) for tri, pts in zip(tris, mesh.corners(tris), strict=True)])
    return np.arange(first, mesh.position_count)


def _add_eye_cap(mesh: _Builder, face: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> EyeCap:
    """A fan from a centre set back in the socket, showing sclera, iris and pupil."""
    loop = np.concatenate([upper, lower[::-1][1:-1]])
    centre = mesh.position(cap_centre(face, loop, EYE_CAP_DEPTH))
    rim = [mesh.vertex(int(p), (0.0, 0.0), 0.78, 0.0) for p in loop]
    mid = mesh.vertex(centre, (0.0, 0.0), 0.95, 0.0)
    fan = [(mid, rim[i], rim[(i + 1) % len(rim)]) for i in range(len(rim))]
    mesh.add([_facing(tri, pts) for tri, pts in zip(fan, mesh.corners(fan), strict=True)])
    return EyeCap(np.array(rim + [mid]), np.append(loop, centre), face[loop, :2].mean(0))


def _add_mouth_cap(mesh: _Builder, t: FaceTemplate, face: np.ndarray) -> int:
    """A fan showing teeth and a dark interior; uv runs across the mouth (u) and from the upper
    (v = 0) to the lower lip (v = 1), corners halfway. Returns the centre's position."""
    up, low = t.mouth_upper, t.mouth_lower
    centre = mesh.position(cap_centre(face, np.concatenate([up, low]), MOUTH_CAP_DEPTH))
    mw, mh = MOUTH[2] - 3, MOUTH[3] - 3

    def rim(arc: np.ndarray, v: float) -> list[int]:
        last = len(arc) - 1
        return [
            mesh.vertex(
                int(p), (MOUTH[1] + 1 + mw * i / last, MOUTH[0] + 1 + mh * (0.5 if i in (0, last) else v)), 0.55
            )
            for i, p in enumerate(arc)
        ]

    rim_u, rim_l = rim(up, 0.0), rim(low, 1.0)
    mid = mesh.vertex(centre, (MOUTH[1] + 1 + mw / 2, MOUTH[0] + 1 + mh / 2), 0.35)
    fan = [(mid, rim_u[i], rim_u[i + 1]) for i in range(len(up) - 1)]
    fan += [(mid, rim_l[i + 1], rim_l[i]) for i in range(len(low) - 1)]
    mesh.add([_facing(tri, pts) for tri, pts in zip(fan, mesh.corners(fan), strict=True)])
    return centre


def _add_hair_sheet(mesh: _Builder, sheet: tuple[tuple[float, float], tuple[float, float]], z: float) -> None:
    """Long hair hangs as an alpha-tested sheet behind the head, seen from both sides."""
    (x0, x1), (y0, y1) = sheet
    corners = []
    for (x, y), (su, sv) in (((x0, y0), (0, 0)), ((x1, y0), (1, 0)), ((x0, y1), (0, 1)), ((x1, y1), (1, 1))):
        p = mesh.position(np.array([x, y, z]))
        corners.append(
            mesh.vertex(p, (SHEET[1] + 1 + su * (SHEET[2] - 3), SHEET[0] + 1 + sv * (SHEET[2] - 3)), 0.85, 0.03)
        )
    mesh.add([(corners[0], corners[1], corners[2]), (corners[1], corners[3], corners[2])], cull=False, alpha_test=True)


def _facing(tri: tuple[int, int, int], pts: np.ndarray) -> tuple[int, int, int]:
    """Orient a cap triangle to face the camera in the template frame (negative signed area)."""
    a, b, c = pts
    area = (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])
    return tri if area < 0 else (tri[0], tri[2], tri[1])


def _outward(tri, pts: np.ndarray, centre: np.ndarray, vertical_axis: bool = False) -> tuple[int, int, int]:
    """Orient a triangle so its normal points away from ``centre`` (a vertical axis if asked)."""
    a, b, c = pts
    normal = np.cross(b - a, c - a)
    away = pts.mean(0) - centre
    if vertical_axis:
        away[1] = 0.0
    return tuple(tri) if normal @ away > 0 else (tri[0], tri[2], tri[1])


def _winding(loop: np.ndarray) -> float:
    """Signed area of a closed 2D polygon (positive when its angle about the centre grows)."""
    x, y = loop[:, 0], loop[:, 1]
    return float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum() / 2)
