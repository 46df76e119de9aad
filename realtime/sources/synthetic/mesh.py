"""The face mesh and how it changes shape: the template, an identity's deformation of it, the
expression blendshapes, and the ears on the head shell."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from .identity import Identity
from .maths import gauss, smoothstep

TEMPLATE_PATH = Path(__file__).parents[2] / "data" / "synthetic_face.npz"


@dataclass(frozen=True)
class FaceTemplate:
    """The face mesh, in units of the outer inter-ocular distance (33–263) with the origin between
    those corners; x right (the person's left), y down, z away from the camera.

    ``triangles`` (T, 3) int32 are oriented so ``cross(b - a, c - a)`` points out of the face; in
    image coordinates (y down) a triangle facing the camera therefore has negative signed area.
    Arcs run corner to corner: eyes from the outer corner (33, 263) to the inner one, mouth (inner lip
    line) from 78 to 308, lips (outer) from 61 to 291, brows from the temple end inwards.
    """

    vertices: np.ndarray  # (468, 3) float32
    triangles: np.ndarray  # (T, 3) int32
    mirror: np.ndarray  # (468,) int32: index of each vertex's left/right mirror image
    oval: np.ndarray  # (36,) face outline loop starting at 10, int32 like all index arrays below
    eye_r_upper: np.ndarray
    eye_r_lower: np.ndarray
    eye_l_upper: np.ndarray
    eye_l_lower: np.ndarray
    mouth_upper: np.ndarray
    mouth_lower: np.ndarray
    lips_upper: np.ndarray
    lips_lower: np.ndarray
    brow_r_upper: np.ndarray
    brow_r_lower: np.ndarray
    brow_l_upper: np.ndarray
    brow_l_lower: np.ndarray

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH) -> FaceTemplate:
        try:
            with np.load(path) as data:
                return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})
        except FileNotFoundError:
            raise UserError(
                f"synthetic face template {path} is missing: run python -m swapcam.realtime.sources.synthetic.template"
            ) from None

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **dataclasses.asdict(self))

    @property
    def eyes(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(upper, lower) lid arcs of the person's right eye, then of the left one."""
        return (self.eye_r_upper, self.eye_r_lower), (self.eye_l_upper, self.eye_l_lower)


def deform(t: FaceTemplate, p: Identity) -> np.ndarray:
    """Identity shape: smooth displacement fields over the template, (468, 3) float64."""
    v = t.vertices.astype(np.float64).copy()
    x, y = v[:, 0].copy(), v[:, 1].copy()
    y_nose, y_mouth, y_chin = v[2, 1], v[[13, 14], 1].mean(), v[152, 1]
    lower = smoothstep((y - y_nose) / (y_chin - y_nose))
    v[:, 0] *= 1 + 0.08 * p.face_width
    v[:, 0] *= 1 + 0.12 * p.jaw * lower * smoothstep((y - 0.2) / 0.5)
    v[:, 1] += 0.10 * p.face_length * np.clip(
        (y - y_nose) / (y_chin - y_nose), 0, 1.2
    ) + 0.05 * p.face_length * np.clip(-y / 0.5, 0, 1)
    v[:, 1] += 0.08 * p.chin * smoothstep((y - y_mouth) / (y_chin - y_mouth)) ** 2
    v[:, 2] -= 0.05 * p.chin * smoothstep((y - y_mouth) / (y_chin - y_mouth)) ** 2 * np.exp(-(x**2) / 0.1)
    for cheek in (50, 280):
        g = gauss(t.vertices[:, :2], t.vertices[cheek, :2], 0.2)
        v[:, 2] -= 0.07 * p.cheeks * g
        v[:, 0] += 0.04 * p.cheeks * g * np.sign(x)
    for (upper, lower_arc), brow in zip(t.eyes, (t.brow_r_lower, t.brow_l_lower), strict=True):
        c = t.vertices[np.concatenate([upper, lower_arc]), :2].mean(0)
        g = gauss(t.vertices[:, :2], c, 0.14)
        side = np.sign(c[0])
        rel = v[:, :2] - c
        ang = math.radians(6.0 * p.eye_tilt) * -side
        rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
        v[:, :2] += g[:, None] * (rel * 0.12 * p.eye_size + (rel @ rot.T - rel))
        v[:, 0] += 0.04 * p.eye_spacing * side * gauss(t.vertices[:, :2], c, 0.25)
        gb = gauss(t.vertices[:, :2], t.vertices[brow, :2].mean(0), 0.16)
        v[:, 1] -= 0.04 * p.brow_height * gb
    gn = gauss(t.vertices[:, :2], t.vertices[1, :2], 0.2)
    v[:, 1] += 0.06 * p.nose_length * gn * smoothstep((y - 0.0) / 0.5)
    v[:, 2] -= 0.08 * p.nose_bridge * gauss(t.vertices[:, :2], np.array([0.0, 0.35]), 0.16)
    v[:, 0] += 0.32 * p.nose_width * x * gauss(t.vertices[:, :2], t.vertices[2, :2] - np.array([0, 0.05]), 0.12)
    y_line = _mouth_line(t, v)
    gm = gauss(t.vertices[:, :2], t.vertices[[13, 14], :2].mean(0), 0.2)
    v[:, 1] += (
        0.045
        * p.lip_fullness
        * np.tanh((y - y_line) / 0.04)
        * gm
        * gauss(t.vertices[:, :2], t.vertices[[13, 14], :2].mean(0), 0.14)
    )
    v[:, 0] += 0.07 * p.mouth_width * np.tanh(x / 0.2) * gm
    return v


def _interp_arc(face: np.ndarray, arc: np.ndarray, x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Value along ``axis`` of a contour arc at abscissae ``x`` (clamped at the ends)."""
    xs, ys = face[arc, 0], face[arc, axis]
    order = np.argsort(xs)
    return np.interp(x, xs[order], ys[order])


def _mouth_line(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """y of the lips' meeting line under each vertex (flat beyond the corners)."""
    x = face[:, 0]
    return (_interp_arc(face, t.mouth_upper, x) + _interp_arc(face, t.mouth_lower, x)) / 2


# Blendshapes: per-expression vertex displacements (468, 3) at full strength, on the identity's face.
def _mouth_open(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """The jaw rotates about a hinge in front of the ears; lower lip and chin follow."""
    y = face[:, 1]
    y_line = _mouth_line(t, face)
    weight = smoothstep((y - y_line + 0.015) / 0.09)
    weight[t.mouth_upper] = 0.0
    weight[t.mouth_lower] = 1.0
    weight[[t.mouth_upper[0], t.mouth_upper[-1]]] = 0.5
    hinge = np.array([0.0, 0.25, 0.85])
    a = math.radians(16.0)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    jaw = ((face - hinge) @ rx.T + hinge - face) * weight[:, None]
    upper_lip = (
        np.exp(-(((y - y_line + 0.03) / 0.05) ** 2)) * (y < y_line) * gauss(face[:, :2], face[[13], :2].mean(0), 0.15)
    )
    jaw[:, 1] -= 0.025 * upper_lip
    return jaw


def _smile(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """Corners up and out, cheeks up, lips stretched."""
    smile = np.zeros_like(face)
    for corner, side in ((61, -1), (291, 1)):
        g = gauss(face[:, :2], face[corner, :2], 0.11)
        smile += g[:, None] * np.array([0.06 * side, -0.065, 0.03])
        cheek = gauss(face[:, :2], (face[corner, :2] + face[[50, 280][side > 0], :2]) / 2 - [0, 0.05], 0.16)
        smile += cheek[:, None] * np.array([0.01 * side, -0.035, -0.02])
    return smile


def _blink(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """The upper lid and the skin just above it slide down to meet the lower lid."""
    x, y = face[:, 0], face[:, 1]
    blink = np.zeros_like(face)
    for upper, lower in t.eyes:
        y_up, y_low = _interp_arc(face, upper, x), _interp_arc(face, lower, x)
        xs = face[upper, 0]
        inside = smoothstep((x - xs.min()) / 0.04) * smoothstep((xs.max() - x) / 0.04)
        gap = (y_low - y_up) * inside
        above = y_up - y
        w_up = np.where(above < 0.025, 1.0, np.exp(-(((above - 0.025) / 0.06) ** 2))) * (above > -0.01)
        below = y - y_low
        w_low = np.where(below < 0.015, 1.0, np.exp(-(((below - 0.015) / 0.04) ** 2))) * (below > -0.01)
        blink[:, 1] += 0.8 * gap * w_up
        blink[:, 1] -= 0.2 * gap * w_low
        blink[upper, 1] = 0.8 * gap[upper]
        blink[lower, 1] = -0.2 * gap[lower]
    return blink


def _brows_up(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """Brows and forehead rise, fading to nothing at the upper lid."""
    x, y = face[:, 0], face[:, 1]
    brows = np.zeros(len(face))
    for upper, rows in (
        (t.eye_r_upper, (t.brow_r_upper, t.brow_r_lower)),
        (t.eye_l_upper, (t.brow_l_upper, t.brow_l_lower)),
    ):
        brow_pts = face[np.concatenate(rows)]
        y_brow, x_brow = brow_pts[:, 1].mean(), brow_pts[:, 0].mean()
        y_lid = face[upper, 1].min()
        rise = np.where(
            y > y_brow, np.clip((y_lid - y) / (y_lid - y_brow), 0, 1), 1 - 0.5 * np.clip((y_brow - y) / 0.5, 0, 1)
        )
        brows = np.maximum(brows, rise * np.exp(-(((x - x_brow) / 0.4) ** 2)))
    return np.stack([np.zeros_like(brows), -0.075 * brows, np.zeros_like(brows)], 1)


_BLENDSHAPES = {"mouth_open": _mouth_open, "smile": _smile, "blink": _blink, "brows_up": _brows_up}
EXPRESSIONS = tuple(_BLENDSHAPES)


def blendshapes(t: FaceTemplate, face: np.ndarray) -> dict[str, np.ndarray]:
    """Displacements (468, 3) of every expression at full strength, keyed like :data:`EXPRESSIONS`."""
    return {name: shape(t, face) for name, shape in _BLENDSHAPES.items()}


def ear_bump(unit: np.ndarray) -> np.ndarray:
    """Outward offset (template units) where the ears sit on the head shell (directions ``unit``)."""
    ear = np.array([1.0, 0.12, 0.08]) / np.linalg.norm([1.0, 0.12, 0.08])
    dots = np.maximum(unit @ ear, unit @ (ear * np.array([-1, 1, 1])))
    return 0.13 * np.exp(-(((1 - dots) / 0.012) ** 2) * 0.5)
