"""Synthetic camera: a seeded, deterministic procedural face video that mediapipe FaceMesh detects.

It stands in for the webcam where there is none (CI, demos, training data) and gives every frame its
ground truth, so alignment, stabilization and swapping can be tested without a detector or a person.

**Pipeline.** A 3D face template (``data/synthetic_face.npz``, built by
:mod:`swapcam.realtime.synthetic_template`) holds the 468 FaceMesh vertices and triangles. An
:class:`Identity` deforms it with smooth displacement fields (face width and length, jaw, chin,
cheeks, eye size/spacing/tilt, brows, nose, lips) and paints a texture in UV space (skin with
mottling and redness, brows, lashes, lips, nostrils, beard, hairline). A closed head shell is grown
behind the face outline (ears, hair volume), with a neck and shoulders in a shirt, and an alpha-tested
sheet for long hair. Eye openings are closed by caps showing sclera, iris and pupil (the iris slides
with the gaze), the mouth opening by a cap showing teeth and a dark interior. Expressions are linear
blendshapes: ``mouth_open`` (jaw rotation), ``smile`` (mouth corners up/out, cheeks up), ``blink``
(upper lids down) and ``brows_up``. Each frame is posed with a pinhole camera, lit per vertex
(wrapped Lambert + ambient + Blinn specular, with a slowly moving light of changing colour
temperature), rasterized with a z-buffer over the head's bounding box only (Numba), softened, and
composited onto a background rendered once per video. Sensor noise comes from one precomputed
noise tile read at a per-frame offset.

**Ground truth** (:class:`SyntheticFrame`):

* ``landmarks`` — (468, 2) float32 pixel (x, y) of the template vertices, indexed exactly like
  mediapipe FaceMesh output (``refine_landmarks=False``). Key indices: outer eye corners 33 (the
  person's right eye, left in the image) and 263 (person's left), inner eye corners 133 and 362,
  upper/lower eyelid midpoints 159/145 (right) and 386/374 (left), nose tip 1, subnasale 2, mouth
  corners 61 (person's right) and 291, upper/lower lip centres 0/17 (outer) and 13/14 (inner),
  chin 152, forehead top 10, face outline sides 234 (person's right) and 454.
  The outline loop, eyelid arcs, lip arcs and brow rows are :class:`FaceTemplate` fields.
* ``pupils`` — (2, 2) float32 pixel centres of the pupils: row 0 the person's right eye (near
  landmarks 33/133, image left in a frontal view), row 1 the person's left eye (362/263).
* ``pose`` — (yaw, pitch, roll) in degrees of the head in the camera frame: yaw > 0 turns the nose
  towards image right, pitch > 0 tilts the nose up, roll > 0 rotates the face clockwise in the image.
  Trajectories stay within yaw ±30°, pitch ±20°, roll ±20° (scaled by ``motion``).
* ``expression`` — ``mouth_open``, ``smile``, ``blink``, ``brows_up`` in 0..1.
* ``occluder`` — with ``occluder=hand``, the (H, W) bool mask of a hand that comes up in front of
  the face every few seconds (:mod:`swapcam.realtime.synthetic_occluder`); None without one.

**Motion.** Pose, position, scale, gaze, light and the expressions (except blinks) are sums of three
seeded sinusoids (periods 3–25 s; gaze 1.5–6 s; talking syllables 0.25–0.45 s), so they are smooth
and frame ``i`` follows from (settings, i) alone. Blinks are 0.3 s events at a seeded random time in
most 4 s slots. The eyes partly counter-rotate against the head, as people looking at a screen do.

**Speed.** About 110 frames/s at 1280x720 on one core: only the head's bounding box is rasterized,
the background and the noise tile are made once per video.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import cv2
import numpy as np
from numba import njit

from .errors import UserError
from .registry import Registry
from .settings import Settings, setting
from .synthetic_occluder import draw_hand, hand_sprite

TEMPLATE_PATH = Path(__file__).with_name("data") / "synthetic_face.npz"

EXPRESSIONS = ("mouth_open", "smile", "blink", "brows_up")
POSE_RANGE = (30.0, 20.0, 20.0)  # max |yaw|, |pitch|, |roll| in degrees at motion = 1

# Atlas layout (rows, cols of the 1024² RGBA texture shared by every surface).
_ATLAS = 1024
_FACE = (0, 0, 512)  # row, col, size: face texture, template x/y mapped uniformly
_HEAD = (0, 512, 512)  # head shell: u = longitude around the face outline, v = angle from the front
_BODY = (512, 0, 512, 256)  # row, col, width, height: neck + shoulders, u = angle, v = height
_EYE = (832, 128, 380.0)  # centre row, centre col, px per template unit: sclera/iris/pupil
_MOUTH = (896, 0, 256, 128)  # row, col, width, height: mouth interior
_SHEET = (512, 512, 512)  # long-hair sheet with alpha

_EYEBALL_RADIUS = 0.125  # template units (outer inter-ocular distance = 1): sets iris travel per gaze angle
_IRIS_RADIUS = 0.062


# ----------------------------------------------------------------------------------------- template
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
                f"synthetic face template {path} is missing: run python -m swapcam.realtime.synthetic_template"
            ) from None

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **dataclasses.asdict(self))


# ----------------------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class Identity:
    """What makes a synthetic person recognisable. Shape values are offsets around an average face
    (about -1..1, in tenths of the inter-ocular distance where geometric); colours are BGR."""

    skin: tuple[int, int, int]
    hair_color: tuple[int, int, int]
    eye_color: tuple[int, int, int]
    lip_color: tuple[int, int, int]
    shirt: tuple[int, int, int]
    hair_style: str = "short"  # short, buzz, bald, bob, long, curly
    face_width: float = 0.0
    face_length: float = 0.0
    jaw: float = 0.0
    chin: float = 0.0
    cheeks: float = 0.0
    eye_size: float = 0.0
    eye_spacing: float = 0.0
    eye_tilt: float = 0.0
    brow_height: float = 0.0
    brow_thickness: float = 1.0
    brow_arch: float = 0.0
    nose_length: float = 0.0
    nose_width: float = 0.0
    nose_bridge: float = 0.0
    lip_fullness: float = 0.0
    mouth_width: float = 0.0
    hairline: float = 0.0  # how far the hair comes down the forehead (0 = top of the mesh)
    beard: float = 0.0  # 0 none, 0.3 stubble, 1 full
    glasses: str = "none"  # none, round, square
    freckles: float = 0.0


_HAIR_STYLES = ("short", "buzz", "bald", "bob", "long", "curly")
_GLASSES = ("none", "round", "square")

_IDENTITIES: Registry[Identity] = Registry("synthetic identity")
for _name, _identity in (
    ("ada", Identity(skin=(150, 178, 222), hair_color=(30, 45, 80), eye_color=(90, 110, 60),
                     lip_color=(105, 100, 190), shirt=(140, 80, 40), hair_style="long", face_width=-0.4,
                     jaw=-0.6, chin=0.2, eye_size=0.5, brow_thickness=0.7, brow_arch=0.8,
                     nose_width=-0.5, nose_length=-0.2, lip_fullness=0.6, hairline=0.3, freckles=0.5)),
    ("bo", Identity(skin=(70, 95, 140), hair_color=(20, 22, 25), eye_color=(25, 40, 60),
                    lip_color=(70, 70, 120), shirt=(60, 150, 200), hair_style="buzz", face_width=0.6,
                    face_length=0.3, jaw=0.8, chin=-0.2, cheeks=0.4, eye_size=-0.3, brow_thickness=1.5,
                    brow_height=-0.5, nose_width=0.9, nose_bridge=-0.3, lip_fullness=0.9, mouth_width=0.4,
                    beard=0.45)),
    ("cyd", Identity(skin=(120, 165, 205), hair_color=(25, 30, 35), eye_color=(30, 50, 70),
                     lip_color=(95, 105, 170), shirt=(70, 70, 70), hair_style="bob", face_width=0.2,
                     face_length=-0.5, jaw=-0.2, cheeks=0.8, eye_size=-0.1, eye_tilt=0.8, brow_thickness=0.9,
                     brow_height=0.3, nose_length=-0.6, nose_bridge=-0.8, lip_fullness=0.1, mouth_width=-0.4,
                     hairline=0.9)),
    ("dev", Identity(skin=(110, 140, 185), hair_color=(15, 20, 30), eye_color=(20, 35, 55),
                     lip_color=(90, 90, 150), shirt=(200, 200, 205), hair_style="short", face_width=-0.1,
                     face_length=0.7, jaw=0.3, chin=0.6, eye_spacing=-0.4, brow_thickness=1.8, brow_height=-0.2,
                     nose_length=0.8, nose_bridge=0.8, nose_width=0.3, lip_fullness=-0.3, beard=1.0)),
    ("eli", Identity(skin=(175, 195, 235), hair_color=(70, 140, 200), eye_color=(150, 120, 70),
                     lip_color=(120, 120, 205), shirt=(90, 140, 60), hair_style="curly", face_width=0.1,
                     face_length=-0.2, jaw=-0.3, chin=-0.4, cheeks=-0.3, eye_size=0.3, eye_spacing=0.5,
                     brow_thickness=0.6, brow_height=0.4, nose_length=-0.3, nose_width=-0.3, lip_fullness=-0.5,
                     mouth_width=-0.2, freckles=1.0)),
    ("fay", Identity(skin=(95, 125, 170), hair_color=(30, 30, 40), eye_color=(30, 50, 75),
                     lip_color=(80, 70, 140), shirt=(130, 40, 140), hair_style="long", face_width=0.3,
                     face_length=0.2, jaw=-0.4, chin=0.3, cheeks=0.7, eye_size=0.6, eye_tilt=-0.4,
                     brow_thickness=1.1, brow_arch=1.0, nose_width=0.4, nose_bridge=-0.2, lip_fullness=1.0,
                     mouth_width=0.6, hairline=0.15)),
    ("gus", Identity(skin=(140, 165, 215), hair_color=(140, 145, 150), eye_color=(120, 100, 80),
                     lip_color=(100, 105, 170), shirt=(50, 60, 110), hair_style="bald", face_width=0.5,
                     face_length=0.4, jaw=0.5, chin=0.1, cheeks=-0.5, eye_size=-0.6, eye_spacing=0.2,
                     brow_thickness=1.3, brow_height=-0.6, nose_length=0.5, nose_width=0.6, nose_bridge=0.4,
                     lip_fullness=-0.6, mouth_width=0.2, beard=0.7, glasses="square")),
    ("hana", Identity(skin=(178, 192, 232), hair_color=(15, 15, 20), eye_color=(25, 30, 40),
                      lip_color=(110, 95, 185), shirt=(180, 130, 200), hair_style="short", face_width=-0.3,
                      face_length=-0.3, jaw=-0.5, chin=-0.1, cheeks=0.3, eye_size=-0.2, eye_spacing=0.3,
                      eye_tilt=0.6, brow_thickness=0.8, brow_height=0.2, nose_length=-0.4, nose_width=-0.1,
                      nose_bridge=-0.6, lip_fullness=0.3, mouth_width=-0.5, hairline=0.6, glasses="round")),
    ("ivo", Identity(skin=(130, 155, 195), hair_color=(40, 60, 95), eye_color=(110, 90, 50),
                     lip_color=(95, 100, 160), shirt=(40, 110, 40), hair_style="short", face_width=0.0,
                     face_length=0.1, jaw=0.2, chin=0.5, cheeks=0.1, eye_size=0.1, eye_spacing=-0.2,
                     brow_thickness=1.2, brow_arch=-0.5, nose_length=0.3, nose_width=-0.2, nose_bridge=0.9,
                     lip_fullness=0.0, mouth_width=0.1, beard=0.25)),
    ("juno", Identity(skin=(60, 80, 115), hair_color=(10, 12, 15), eye_color=(15, 25, 40),
                      lip_color=(60, 55, 105), shirt=(30, 190, 230), hair_style="curly", face_width=-0.2,
                      face_length=0.3, jaw=-0.3, chin=0.2, cheeks=0.5, eye_size=0.4, brow_thickness=0.9,
                      brow_arch=0.6, brow_height=0.3, nose_width=0.6, nose_length=0.1, lip_fullness=1.2,
                      mouth_width=0.3, hairline=0.2)),
):
    _IDENTITIES.register(_name)(_identity)

PRESET_NAMES: tuple[str, ...] = tuple(_IDENTITIES.names())


def random_identity(seed: int) -> Identity:
    """A random person: skin along a dark–light palette, the rest drawn independently."""
    rng = np.random.default_rng([seed, 0x1DE])
    tone = rng.uniform()
    dark, light = np.array([55, 75, 110]), np.array([175, 195, 235])
    skin = dark + (light - dark) * tone + rng.normal(0, 6, 3)
    hair_palette = [(15, 15, 20), (25, 35, 60), (40, 70, 120), (70, 140, 200), (140, 145, 150), (30, 45, 110)]
    eye_palette = [(25, 35, 55), (40, 70, 90), (120, 100, 60), (90, 120, 70), (150, 120, 70)]
    shape = {k: float(rng.uniform(-0.8, 0.8)) for k in (
        "face_width", "face_length", "jaw", "chin", "cheeks", "eye_size", "eye_spacing", "eye_tilt",
        "brow_height", "brow_arch", "nose_length", "nose_width", "nose_bridge", "lip_fullness", "mouth_width")}
    return Identity(
        skin=_bgr(skin),
        hair_color=_bgr(np.array(hair_palette[rng.integers(len(hair_palette))]) + rng.normal(0, 5, 3)),
        eye_color=_bgr(np.array(eye_palette[rng.integers(len(eye_palette))]) + rng.normal(0, 8, 3)),
        lip_color=_bgr(skin * np.array([0.65, 0.55, 0.9]) + np.array([10, 10, 20])),
        shirt=_bgr(rng.uniform(30, 220, 3)),
        hair_style=str(rng.choice(_HAIR_STYLES)),
        brow_thickness=float(rng.uniform(0.6, 1.6)),
        hairline=float(rng.uniform(0, 0.8)),
        beard=float(rng.choice([0.0, 0.0, 0.3, 0.8])),
        glasses=str(rng.choice(["none", "none", "round", "square"])),
        freckles=float(rng.uniform(0, 1) * (tone > 0.6)),
        **shape,
    )


def _bgr(values: Any) -> tuple[int, int, int]:
    b, g, r = (int(np.clip(round(float(v)), 0, 255)) for v in values)
    return (b, g, r)


# ----------------------------------------------------------------------------------------- settings
_SIZE = re.compile(r"^(\d+)x(\d+)$")


@dataclass(frozen=True)
class SyntheticSettings(Settings):
    section = "synthetic"
    identity: str = setting(PRESET_NAMES[0], f"synthetic person: {', '.join(PRESET_NAMES)} or random (uses --seed)")
    seed: int = setting(0, "seed of the motion, background, noise (and of the person when identity=random)")
    fps: float = setting(30.0, "frames per second of the synthetic video", low=1.0, high=240.0)
    size: str = setting("1280x720", "frame size WxH")
    motion: float = setting(1.0, "head motion amplitude (0 = still and frontal, 1 = full range)", low=0.0, high=1.0)
    expressions: bool = setting(True, "animate mouth, smile, blinks and brows")
    noise: float = setting(1.0, "sensor noise strength (1 = typical webcam, 0 = none)", low=0.0, high=5.0)
    motion_blur: bool = setting(False, "blur the head along its motion during the exposure")
    occluder: str = setting("none", "something that comes in front of the face now and then: none or hand",
                            choices=("none", "hand"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.identity != "random" and self.identity not in _IDENTITIES:
            raise UserError(
                f"unknown synthetic identity {self.identity!r}: choose one of {', '.join(PRESET_NAMES)}, random"
            )
        m = _SIZE.match(self.size)
        if not m or not (32 <= int(m[1]) <= 8192 and 32 <= int(m[2]) <= 8192):
            raise UserError(f"--size {self.size!r} is not valid: use WxH with 32..8192 pixels, e.g. 1280x720")

    @property
    def width(self) -> int:
        return int(self.size.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.size.split("x")[1])

    @classmethod
    def from_spec(cls, spec: str) -> SyntheticSettings:
        """Parse ``"identity=ada,seed=3,fps=25,size=640x480"`` (``""`` gives the defaults)."""
        hints = get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, text = (s.strip() for s in item.partition("="))
            if not sep or key not in names:
                raise UserError(f"synthetic camera option {key!r} is not valid: valid keys are {', '.join(names)}")
            values[key] = _parse_value(key, text, hints[key])
        return cls(**values)


def _parse_value(key: str, text: str, kind: type) -> Any:
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
    else:
        try:
            return kind(text)
        except ValueError:
            pass
    raise UserError(f"synthetic camera option {key}={text!r} is not valid: expected {kind.__name__}")


# ----------------------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class SyntheticFrame:
    index: int
    image: np.ndarray  # (H, W, 3) uint8 BGR
    landmarks: np.ndarray  # (468, 2) float32 pixel x, y in mediapipe order
    pupils: np.ndarray  # (2, 2) float32: person's right eye first, then left
    pose: tuple[float, float, float]  # yaw, pitch, roll in degrees (signs: module docstring)
    expression: dict[str, float]  # EXPRESSIONS → 0..1
    occluder: np.ndarray | None = None  # (H, W) bool: where an occluder covers the picture (None: no occluder)


def _smoothstep(x: np.ndarray | float) -> Any:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _gauss(points: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((points - centre) ** 2).sum(-1) / (2 * sigma * sigma))


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-frame rotation for a head pose in degrees (signs as in the module docstring)."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[math.cos(-y), 0, math.sin(-y)], [0, 1, 0], [-math.sin(-y), 0, math.cos(-y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(-p), -math.sin(-p)], [0, math.sin(-p), math.cos(-p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


# ----------------------------------------------------------------------------------------- numba cores
@njit(cache=True, nogil=True)
def _vertex_normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
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
def _rasterize(xy, depth, uv, light, spec, tris, cull, alpha_test, atlas, out, zbuf):
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
                    a = (w00 * atlas[iv, iu, 3] + w01 * atlas[iv, iu + 1, 3]
                         + w10 * atlas[iv + 1, iu, 3] + w11 * atlas[iv + 1, iu + 1, 3])
                    if a < 128:
                        continue
                zbuf[py, px] = d
                s = 255.0 * (b0 * spec[i0] + b1 * spec[i1] + b2 * spec[i2])
                for ch in range(3):
                    tex = (w00 * atlas[iv, iu, ch] + w01 * atlas[iv, iu + 1, ch]
                           + w10 * atlas[iv + 1, iu, ch] + w11 * atlas[iv + 1, iu + 1, ch])
                    lit = b0 * light[i0, ch] + b1 * light[i1, ch] + b2 * light[i2, ch]
                    out[py, px, ch] = min(max(tex * lit + s, 0.0), 255.0)


# ----------------------------------------------------------------------------------------- trajectory
class _Trajectory:
    """Seeded smooth signals: each channel is a sum of three sinusoids, normalised to peak at ±1."""

    CHANNELS = ("yaw", "pitch", "roll", "x", "y", "scale", "gaze_x", "gaze_y", "light_az", "light_el",
                "temperature", "smile", "brows", "talk", "syllable", "yawn")

    def __init__(self, seed: int):
        rng = np.random.default_rng([seed, 0x7EA])
        n = len(self.CHANNELS)
        periods = rng.uniform(3.0, 25.0, (n, 3))
        periods[self.CHANNELS.index("syllable")] = rng.uniform(0.25, 0.45, 3)
        periods[self.CHANNELS.index("gaze_x")] = rng.uniform(1.5, 6.0, 3)
        periods[self.CHANNELS.index("gaze_y")] = rng.uniform(1.5, 6.0, 3)
        amp = rng.uniform(0.3, 1.0, (n, 3))
        amp[:, 0] += 1.0  # one dominant component so every channel regularly nears its extremes
        self.freq = (2 * np.pi / periods).astype(np.float64)
        self.amp = amp / amp.sum(1, keepdims=True)
        self.phase = rng.uniform(0, 2 * np.pi, (n, 3))
        self.seed = seed

    def __call__(self, t: float) -> dict[str, float]:
        values = (self.amp * np.sin(self.freq * t + self.phase)).sum(1)
        return dict(zip(self.CHANNELS, values.tolist(), strict=True))

    def blink(self, t: float) -> float:
        """0..1 eyelid closure: one 0.3 s blink at a seeded time in most 4 s slots."""
        slot_len = 4.0
        slot = math.floor(t / slot_len)
        value = 0.0
        for k in (slot - 1, slot):
            rng = np.random.default_rng([self.seed, k & 0xFFFFFFFF, 0xB1])
            if rng.uniform() < 0.15:
                continue
            dt = t - (k * slot_len + rng.uniform(0.0, slot_len - 0.4))
            if 0 <= dt < 0.1:
                value = max(value, _smoothstep(dt / 0.1))
            elif 0.1 <= dt < 0.3:
                value = max(value, 1.0 - _smoothstep((dt - 0.1) / 0.2))
        return float(value)


# ----------------------------------------------------------------------------------------- video
class SyntheticVideo:
    """Endless deterministic synthetic camera: ``frame(i)`` depends only on (settings, i)."""

    def __init__(self, settings: SyntheticSettings, template: FaceTemplate | None = None):
        self.settings = settings
        self.fps = settings.fps
        self.width, self.height = settings.width, settings.height
        self.identity = (random_identity(settings.seed) if settings.identity == "random"
                         else _IDENTITIES.get(settings.identity))
        self._template = template if template is not None else FaceTemplate.load()
        self._traj = _Trajectory(settings.seed)
        self._rig = _Rig(self._template, self.identity, settings.seed)
        rng = np.random.default_rng([settings.seed, 0xBAC])
        self._background = _background(rng, self.width, self.height)
        self._noise = _noise_tiles(rng, self.width, self.height, settings.noise)
        self._focal = 0.9 * max(self.width, self.height)
        self._iod = 0.19 * min(self.width, self.height)
        self._hand = hand_sprite(self._iod, self.identity.skin) if settings.occluder == "hand" else None

    def __iter__(self) -> Iterator[SyntheticFrame]:
        index = 0
        while True:
            yield self.frame(index)
            index += 1

    def pose_at(self, index: int) -> tuple[tuple[float, float, float], dict[str, float]]:
        """The trajectory's head pose (degrees) and expression at frame ``index``."""
        t = index / self.fps
        s = self._traj(t)
        m = self.settings.motion
        pose = (POSE_RANGE[0] * m * s["yaw"], POSE_RANGE[1] * m * s["pitch"], POSE_RANGE[2] * m * s["roll"])
        if not self.settings.expressions:
            return pose, dict.fromkeys(EXPRESSIONS, 0.0)
        # Talking: a syllable rhythm gated by a slow envelope, plus an occasional wide opening.
        talk = _smoothstep((s["talk"] + 0.1) / 0.6) * (0.5 + 0.5 * s["syllable"]) * 0.55
        yawn = _smoothstep((s["yawn"] - 0.55) / 0.35)
        expression = {
            "mouth_open": float(np.clip(max(talk, yawn), 0.0, 1.0)),
            "smile": float(_smoothstep((s["smile"] - 0.1) / 0.6)),
            "blink": self._traj.blink(t),
            "brows_up": float(_smoothstep((s["brows"] - 0.35) / 0.5)),
        }
        return pose, expression

    def frame(self, index: int) -> SyntheticFrame:
        pose, expression = self.pose_at(index)
        return self.render(pose, expression, index)

    def _camera(self, index: int, pose: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Head rotation and the camera-frame position of the neck pivot at frame ``index``."""
        s = self._traj(index / self.fps)
        m = self.settings.motion
        iod_px = self._iod * (1 + 0.15 * m * s["scale"])
        distance = self._focal / iod_px
        px = self.width * (0.5 + 0.12 * m * s["x"])
        py = self.height * (0.58 + 0.07 * m * s["y"])
        pivot = np.array([(px - self.width / 2) * distance / self._focal,
                          (py - self.height / 2) * distance / self._focal, distance])
        return _rotation(*pose), pivot

    def render(self, pose: tuple[float, float, float], expression: dict[str, float], index: int = 0) -> SyntheticFrame:
        """Frame ``index`` with an explicit head pose (degrees) and expression (missing keys are 0);
        position, scale, gaze, light and noise still follow the trajectory at ``index``."""
        unknown = set(expression) - set(EXPRESSIONS)
        if unknown:
            raise ValueError(f"unknown expression {sorted(unknown)}: use {EXPRESSIONS}")
        expr = {k: float(np.clip(expression.get(k, 0.0), 0.0, 1.0)) for k in EXPRESSIONS}
        pose = tuple(float(v) for v in pose)
        s = self._traj(index / self.fps)
        rotation, pivot = self._camera(index, pose)
        image = self._background.copy()
        gaze = (pose[0] * -0.6 + 8.0 * s["gaze_x"], pose[1] * -0.5 + 5.0 * s["gaze_y"])
        light_dir, light_rgb = _light(s)
        landmarks, pupils = self._rig.draw(
            image, rotation, pivot, self._focal, expr, gaze, light_dir, light_rgb,
            self._blur_vector(index) if self.settings.motion_blur else None)
        occluder = None
        if self._hand is not None:
            occluder = draw_hand(image, index / self.fps, landmarks, self._hand, self.settings.seed)
        if self._noise is not None:
            rng = np.random.default_rng([self.settings.seed, index, 0x5E5])
            dy, dx = (int(v) for v in rng.integers(0, _NOISE_MARGIN, 2))
            pos, neg = self._noise
            cv2.add(image, pos[dy:dy + self.height, dx:dx + self.width], dst=image)
            cv2.subtract(image, neg[dy:dy + self.height, dx:dx + self.width], dst=image)
        return SyntheticFrame(index=index, image=image, landmarks=landmarks, pupils=pupils,
                              pose=pose, expression=expr, occluder=occluder)  # type: ignore[arg-type]

    def _blur_vector(self, index: int) -> np.ndarray:
        """Pixel motion of the nose tip during the exposure along the trajectory; webcams in room
        light expose for most of the frame interval, so the exposure is taken as the whole of it."""
        nose = self._rig.face[1] - self._rig.pivot
        ends = []
        for i in (index - 1, index):
            rotation, pivot = self._camera(i, self.pose_at(i)[0])
            p = rotation @ nose + pivot
            ends.append(self._focal * p[:2] / p[2])
        return ends[1] - ends[0]


def _light(s: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction towards the light (camera frame) and its BGR colour."""
    az = math.radians(50.0 * s["light_az"])
    el = math.radians(30.0 + 20.0 * s["light_el"])
    direction = np.array([math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)])
    warm = 0.5 + 0.5 * s["temperature"]  # 0 = cool daylight, 1 = warm tungsten
    rgb = np.array([1.06 - 0.22 * warm, 1.0 - 0.05 * warm, 0.92 + 0.16 * warm])
    return direction, rgb


# ----------------------------------------------------------------------------------------- background
_NOISE_MARGIN = 64


def _noise_tiles(rng: np.random.Generator, width: int, height: int, strength: float):
    """Positive and negative parts of one Gaussian noise tile, larger than the frame so each frame
    reads it at its own offset (drawing fresh normals per frame costs more than the whole render)."""
    if strength <= 0:
        return None
    noise = rng.standard_normal((height + _NOISE_MARGIN, width + _NOISE_MARGIN, 3), np.float32) * (2.2 * strength)
    noise = np.round(noise)
    return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A soft room-like backdrop: wall gradient, a few furniture/door/window blocks, lamp glows."""
    h, w = height, width
    # Rooms are mostly desaturated: a grey level with a gentle colour cast, furniture a shade off.
    wall = rng.uniform(80, 210) * (1 + rng.uniform(-0.12, 0.12, 3))
    tint = rng.uniform(-15, 15, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = wall[None, None, :] + tint[None, None, :] * (yy / h - 0.5)[..., None] * 2
    img = img + (xx / w - 0.5)[..., None] * rng.uniform(-30, 30)
    for _ in range(rng.integers(3, 7)):
        bw, bh = rng.uniform(0.08, 0.35) * w, rng.uniform(0.15, 0.7) * h
        x0, y0 = rng.uniform(-0.1, 1.0) * w, rng.uniform(0.0, 1.0) * h - bh / 3
        color = np.clip(wall * rng.uniform(0.45, 1.3) * (1 + rng.uniform(-0.15, 0.15, 3)), 10, 245)
        block = np.zeros((h, w), np.float32)
        cv2.rectangle(block, (int(x0), int(y0)), (int(x0 + bw), int(y0 + bh)), 1.0, -1)
        block = cv2.GaussianBlur(block, (0, 0), max(1.0, 0.004 * w))
        img += block[..., None] * (color - img) * rng.uniform(0.5, 0.95)
    for _ in range(rng.integers(1, 3)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h * 0.6), rng.uniform(0.1, 0.3) * w
        glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += glow[..., None] * rng.uniform(20, 50) * np.array([0.8, 0.95, 1.1])
    vignette = 1 - 0.25 * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)
    img *= vignette[..., None]
    img += cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 3)[..., None] * 6
    return np.clip(img, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------- rig
class _Rig:
    """One identity's geometry, blendshapes, texture atlas and per-frame drawing.

    Positions (P, 3): the 468 face vertices, two eye-cap centres, a mouth-cap centre, the head shell
    (rings behind the face outline, sharing the outline vertices) and the neck/shoulders. Render
    vertices (N) point at a position and carry their own atlas uv, light gain and specular weight,
    so one position can appear with different textures (face skin vs. eye cap at the eyelid rim).
    """

    def __init__(self, template: FaceTemplate, identity: Identity, seed: int):
        self.t = template
        self.identity = identity
        rng = np.random.default_rng([seed, 0x716])
        self.face = _deform(template, identity).astype(np.float64)
        self.pivot = np.array([0.0, 0.55, 0.95])  # neck pivot behind the ear line
        self.blend = _blendshapes(template, self.face)
        self._build_geometry()
        self.atlas = _paint_atlas(template, identity, self.face, self._face_uv_map, self._head_theta0, rng)

    # -- construction -------------------------------------------------------------------------
    def _build_geometry(self) -> None:
        t, face = self.t, self.face
        positions: list[np.ndarray] = [face]
        rv_pos: list[int] = []  # render vertex → position index
        rv_uv: list[tuple[float, float]] = []
        rv_gain: list[float] = []
        rv_spec: list[float] = []
        tris: list[tuple[int, int, int]] = []
        flags: list[tuple[bool, bool]] = []  # cull, alpha test

        def add_vertex(p: int, uv: tuple[float, float], gain: float = 1.0, spec: float = 0.0) -> int:
            rv_pos.append(p)
            rv_uv.append(uv)
            rv_gain.append(gain)
            rv_spec.append(spec)
            return len(rv_pos) - 1

        def add_position(p: np.ndarray) -> int:
            positions.append(p[None])
            return sum(len(a) for a in positions) - 1

        # Face: uv is the frontal template x, y mapped uniformly into the face texture.
        lo = face[:, :2].min(0) - 0.06
        scale = (_FACE[2] - 2) / (face[:, :2].max(0) + 0.06 - lo).max()
        self._face_uv_map = (lo, scale)
        face_uv = (face[:, :2] - lo) * scale + np.array([_FACE[1], _FACE[0]])
        tzone = np.exp(-(face[:, 0] ** 2) / 0.02) * (face[:, 1] < 0.9)
        for i in range(468):
            add_vertex(i, tuple(face_uv[i]), 1.0, 0.10 + 0.12 * tzone[i])
        tris += [tuple(tri) for tri in t.triangles.tolist()]
        flags += [(True, False)] * len(t.triangles)

        # Head shell: rings from the face outline back over a skull-shaped ellipsoid to a back pole.
        centre = np.array([0.0, face[t.oval, 1].mean() - 0.05, face[[234, 454], 2].mean() + 0.15])
        radii_up = np.array([np.abs(face[t.oval, 0]).max() * 1.03, 1.25, 1.05])
        radii_down = radii_up * np.array([1.0, 0.85, 1.0])
        # Walk the outline so the longitude grows (the texture's u runs the same way).
        oval = t.oval if _winding(face[t.oval, :2]) > 0 else np.roll(t.oval[::-1], 1)
        d = face[oval] - centre
        radii = np.where((d[:, 1] > 0)[:, None], radii_down, radii_up)
        n = d / radii
        theta = np.unwrap(np.arctan2(n[:, 1], n[:, 0]))
        phi = np.arccos(np.clip(-n[:, 2] / np.linalg.norm(n, axis=1), -1, 1))
        self._head_theta0 = theta[0]
        rings = 9
        shell_idx = np.zeros((len(oval), rings + 1), np.int64)
        shell_idx[:, 0] = oval
        self._hair = _HairModel(self.identity)
        for k in range(1, rings + 1):
            f = k / (rings + 0.6)
            ph = phi + (np.pi - phi) * f
            unit = np.stack([np.sin(ph) * np.cos(theta), np.sin(ph) * np.sin(theta), -np.cos(ph)], 1)
            rad = np.where((unit[:, 1] > 0)[:, None], radii_down, radii_up)
            base = centre + unit * rad + (face[oval] - (centre + _unit(theta, phi) * radii)) * (1 - f) ** 3
            lift = self._hair.volume(unit) * min(1.0, k / 2.5) + _ear_bump(unit)
            pts = base + unit * lift[:, None]
            for j in range(len(oval)):
                shell_idx[j, k] = add_position(pts[j])
        back_unit = np.array([[0.0, 0.0, 1.0]])
        back = add_position(centre + back_unit[0] * (radii_up[2] + self._hair.volume(back_unit)[0]))
        # Shell render vertices: u along the outline longitude, v along the angle from the front; the
        # outline's first column is repeated at u = 1 so no triangle spans the texture seam.
        head_uv = lambda th, ph: (_HEAD[1] + 1 + (th - theta[0]) / (2 * np.pi) * (_HEAD[2] - 3),  # noqa: E731
                                  _HEAD[0] + 1 + ph / np.pi * (_HEAD[2] - 3))
        cols = len(oval) + 1
        shell_rv = np.zeros((cols, rings + 1), np.int64)
        for j in range(cols):
            jj = j % len(oval)
            th = theta[jj] + (2 * np.pi if j == len(oval) else 0.0)
            for k in range(rings + 1):
                f = k / (rings + 0.6)
                ph = phi[jj] + (np.pi - phi[jj]) * f
                spec = 0.08 if k else 0.10
                shell_rv[j, k] = add_vertex(int(shell_idx[jj, k]), head_uv(th, ph), 1.0, spec)
        back_rv = add_vertex(back, head_uv(theta[0] + np.pi, np.pi - 1e-3), 1.0, 0.05)
        shell_tris = []
        for j in range(cols - 1):
            for k in range(rings):
                a, b, c, e = shell_rv[j, k], shell_rv[j + 1, k], shell_rv[j, k + 1], shell_rv[j + 1, k + 1]
                shell_tris += [(a, b, c), (b, e, c)]
            shell_tris.append((shell_rv[j, rings], shell_rv[j + 1, rings], back_rv))
        pos_all = np.concatenate(positions)
        rv_pos_arr = np.array(rv_pos)
        shell_tris = [_outward(tri, pos_all[rv_pos_arr[list(tri)]], centre) for tri in shell_tris]
        tris += shell_tris
        flags += [(True, False)] * len(shell_tris)

        # Neck and shoulders: an elliptic section growing from neck to shoulder width, front half only.
        body_first_pos = sum(len(a) for a in positions)
        heights = np.array([0.35, 1.0, 1.4, 1.7, 1.95, 2.2, 2.45, 2.75, 3.3, 4.5, 6.5])
        angles = np.radians(np.linspace(-115, 115, 15))
        grow = _smoothstep((heights - 1.6) / 0.9)
        half_w = 0.56 + (2.15 + 0.25 * self.identity.face_width - 0.56) * grow
        half_d = 0.5 + 0.45 * grow
        body_rv = np.zeros((len(heights), len(angles)), np.int64)
        for r, y in enumerate(heights):
            for c, a in enumerate(angles):
                p = add_position(np.array([half_w[r] * math.sin(a), y, 0.95 - half_d[r] * math.cos(a)]))
                uv = (_BODY[1] + 1 + c / (len(angles) - 1) * (_BODY[2] - 3),
                      _BODY[0] + 1 + r / (len(heights) - 1) * (_BODY[3] - 3))
                body_rv[r, c] = add_vertex(p, uv, 1.0, 0.04)
        body_tris = []
        for r in range(len(heights) - 1):
            for c in range(len(angles) - 1):
                a, b, cc, e = body_rv[r, c], body_rv[r, c + 1], body_rv[r + 1, c], body_rv[r + 1, c + 1]
                body_tris += [(a, cc, b), (b, cc, e)]
        pos_all = np.concatenate(positions)
        rv_pos_arr = np.array(rv_pos)
        body_axis = np.array([0.0, 0.0, 0.95])
        body_tris = [_outward(tri, pos_all[rv_pos_arr[list(tri)]], body_axis, vertical_axis=True)
                     for tri in body_tris]
        tris += body_tris
        flags += [(True, False)] * len(body_tris)
        self._body_positions = np.arange(body_first_pos, sum(len(a) for a in positions))
        self._lit_tris = len(tris)  # triangles above shape the vertex normals; caps and sheet do not

        # Eye caps: fans from a centre set back in the socket; their uv is recomputed every frame so
        # the iris stays put (and follows the gaze) while the lids move over it.
        self._eye_caps = []
        for upper, lower in ((t.eye_r_upper, t.eye_r_lower), (t.eye_l_upper, t.eye_l_lower)):
            loop = np.concatenate([upper, lower[::-1][1:-1]])
            centre_xy = face[loop, :2].mean(0)
            c_pos = add_position(np.array([*centre_xy, face[loop, 2].mean() + 0.05]))
            rim = [add_vertex(int(p), (0.0, 0.0), 0.78, 0.0) for p in loop]
            mid = add_vertex(c_pos, (0.0, 0.0), 0.95, 0.0)
            cap = [(mid, rim[i], rim[(i + 1) % len(rim)]) for i in range(len(rim))]
            cap = [_facing(tri, _tri_positions(positions, rv_pos, tri)) for tri in cap]
            tris += cap
            flags += [(True, False)] * len(cap)
            self._eye_caps.append((np.array(rim + [mid]), np.append(loop, c_pos), centre_xy))
        # Mouth cap: uv across the mouth (u) and from the upper (v = 0) to the lower lip (v = 1).
        up, low = t.mouth_upper, t.mouth_lower
        m_centre = add_position(np.array([*face[np.concatenate([up, low]), :2].mean(0),
                                          face[np.concatenate([up, low]), 2].mean() + 0.12]))
        self._mouth_centre = m_centre
        mw, mh = _MOUTH[2] - 3, _MOUTH[3] - 3
        rim_u = [add_vertex(int(p), (_MOUTH[1] + 1 + mw * i / (len(up) - 1), _MOUTH[0] + 1 + mh * (0.5 if i in (0, len(up) - 1) else 0.0)), 0.55)
                 for i, p in enumerate(up)]
        rim_l = [add_vertex(int(p), (_MOUTH[1] + 1 + mw * i / (len(low) - 1), _MOUTH[0] + 1 + mh * (0.5 if i in (0, len(low) - 1) else 1.0)), 0.55)
                 for i, p in enumerate(low)]
        mid = add_vertex(m_centre, (_MOUTH[1] + 1 + mw / 2, _MOUTH[0] + 1 + mh / 2), 0.35)
        cap = [(mid, rim_u[i], rim_u[i + 1]) for i in range(len(up) - 1)]
        cap += [(mid, rim_l[i + 1], rim_l[i]) for i in range(len(low) - 1)]
        cap = [_facing(tri, _tri_positions(positions, rv_pos, tri)) for tri in cap]
        tris += cap
        flags += [(True, False)] * len(cap)

        # Long hair hangs as an alpha-tested sheet behind the head.
        sheet = self._hair.sheet()
        if sheet is not None:
            (x0, x1), (y0, y1) = sheet
            z = centre[2] + 0.25
            corners = []
            for (x, y), (su, sv) in (((x0, y0), (0, 0)), ((x1, y0), (1, 0)), ((x0, y1), (0, 1)), ((x1, y1), (1, 1))):
                p = add_position(np.array([x, y, z]))
                corners.append(add_vertex(p, (_SHEET[1] + 1 + su * (_SHEET[2] - 3), _SHEET[0] + 1 + sv * (_SHEET[2] - 3)),
                                          0.85, 0.03))
            tris += [(corners[0], corners[1], corners[2]), (corners[1], corners[3], corners[2])]
            flags += [(False, True)] * 2

        self.rest = np.concatenate(positions).astype(np.float64)
        self.rv_pos = np.array(rv_pos, np.int64)
        self.rv_uv = np.array(rv_uv, np.float32)
        self.rv_gain = np.array(rv_gain, np.float32)
        self.rv_spec = np.array(rv_spec, np.float32)
        self.tris = np.array(tris, np.int32)
        self.cull = np.array([f[0] for f in flags])
        self.alpha_test = np.array([f[1] for f in flags])
        self.pos_tris = self.rv_pos[self.tris[: self._lit_tris]].astype(np.int32)
        self._lit_positions = np.unique(self.pos_tris)

    # -- per frame ----------------------------------------------------------------------------
    def draw(self, image, rotation, pivot, focal, expr, gaze, light_dir, light_rgb, blur):
        """Render into ``image`` in place; returns (landmarks (468, 2), pupils (2, 2)) float32."""
        h, w = image.shape[:2]
        pos = self.rest.copy()
        face = self.face + sum(expr[k] * self.blend[k] for k in EXPRESSIONS)
        pos[:468] = face
        # Caps follow the moved rims: set back from their rim's current centre.
        for _, rim_pos, _ in self._eye_caps:
            loop = rim_pos[:-1]
            pos[rim_pos[-1]] = [*face[loop, :2].mean(0), face[loop, 2].mean() + 0.05]
        mouth = np.concatenate([self.t.mouth_upper, self.t.mouth_lower])
        pos[self._mouth_centre] = [*face[mouth, :2].mean(0), face[mouth, 2].mean() + 0.12]

        body = self._body_positions
        cam = (pos - self.pivot) @ rotation.T + pivot
        body_rot = _rotation(*(np.degrees(_angles(rotation)) * np.array([0.25, 0.0, 0.3])))
        cam[body] = (pos[body] - self.pivot) @ body_rot.T + pivot
        xy = focal * cam[:, :2] / cam[:, 2:3] + np.array([w / 2, h / 2])

        normals = _vertex_normals(pos.astype(np.float32), self.pos_tris)
        normals[body] = normals[body] @ body_rot.T
        head = np.setdiff1d(self._lit_positions, body)
        normals[head] = normals[head] @ rotation.T.astype(np.float32)
        # Cap centres and the sheet take the head's forward direction (they shape no normals).
        unlit = np.ones(len(pos), bool)
        unlit[self._lit_positions] = False
        normals[unlit] = rotation @ np.array([0.0, 0.0, -1.0])

        view = -cam / np.linalg.norm(cam, axis=1, keepdims=True)
        n = normals[self.rv_pos].astype(np.float64)
        ndl = n @ light_dir
        diffuse = np.clip((ndl + 0.35) / 1.35, 0, 1)  # wrapped Lambert: soft terminator, like skin
        half = view[self.rv_pos] + light_dir
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        spec = self.rv_spec * np.clip((n * half).sum(1), 0, 1) ** 24 * (ndl > 0)
        ambient = 0.38 + 0.1 * np.clip(-n[:, 1], 0, 1)  # a little more sky light on upward faces
        light = (ambient[:, None] + 0.78 * diffuse[:, None] * light_rgb[None, :]) * self.rv_gain[:, None]

        uv = self.rv_uv.copy()
        pupils = np.zeros((2, 2), np.float32)
        shift = _EYEBALL_RADIUS * np.array([math.sin(math.radians(gaze[0])), -math.sin(math.radians(gaze[1]))])
        for e, (rim_rv, rim_pos, rest_centre) in enumerate(self._eye_caps):
            local = pos[rim_pos, :2] - rest_centre - shift
            uv[rim_rv, 0] = _EYE[1] + local[:, 0] * _EYE[2]
            uv[rim_rv, 1] = _EYE[0] + local[:, 1] * _EYE[2]
            iris = np.array([*(rest_centre + shift), pos[rim_pos[-1], 2]])
            ic = (iris - self.pivot) @ rotation.T + pivot
            pupils[e] = focal * ic[:2] / ic[2] + np.array([w / 2, h / 2])

        x0 = max(int(xy[:, 0].min()) - 2, 0)
        x1 = min(int(xy[:, 0].max()) + 3, w)
        y0 = max(int(xy[:, 1].min()) - 2, 0)
        y1 = min(int(xy[:, 1].max()) + 3, h)
        if x1 > x0 and y1 > y0:
            region = image[y0:y1, x0:x1]
            zbuf = np.full(region.shape[:2], np.inf, np.float32)
            local_xy = (xy - np.array([x0, y0])).astype(np.float32)
            _rasterize(local_xy[self.rv_pos], cam[self.rv_pos, 2].astype(np.float32), uv,
                       light.astype(np.float32), spec.astype(np.float32), self.tris, self.cull,
                       self.alpha_test, self.atlas, region, zbuf)
            if self.identity.glasses != "none":
                _draw_glasses(region, zbuf, self.identity.glasses, self.face, self.t, rotation, pivot,
                              self.pivot, focal, (w / 2 - x0, h / 2 - y0))
            # Lens softness doubles as anti-aliasing of silhouette edges.
            region[:] = cv2.GaussianBlur(region, (5, 5), 0.75)
            if blur is not None:
                _motion_blur(region, blur)
        landmarks = xy[:468].astype(np.float32)
        return landmarks, pupils


def _tri_positions(positions: list[np.ndarray], rv_pos: list[int], tri: tuple[int, int, int]) -> np.ndarray:
    """Current positions (3, 3) of a triangle's render vertices while the rig is being built."""
    allpos = np.concatenate(positions)
    return allpos[[rv_pos[i] for i in tri]]


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


def _unit(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(phi) * np.cos(theta), np.sin(phi) * np.sin(theta), -np.cos(phi)], 1)


def _angles(rotation: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) radians back from :func:`_rotation` (rz @ ry(-yaw) @ rx(-pitch))."""
    yaw = -math.asin(np.clip(-rotation[2, 0], -1, 1))
    pitch = -math.atan2(rotation[2, 1], rotation[2, 2])
    roll = math.atan2(rotation[1, 0], rotation[0, 0])
    return np.array([yaw, pitch, roll])


def _ear_bump(unit: np.ndarray) -> np.ndarray:
    """Outward offset (template units) where the ears sit on the head shell."""
    ear = np.array([1.0, 0.12, 0.08]) / np.linalg.norm([1.0, 0.12, 0.08])
    dots = np.maximum(unit @ ear, unit @ (ear * np.array([-1, 1, 1])))
    return 0.13 * np.exp(-((1 - dots) / 0.012) ** 2 * 0.5)


class _HairModel:
    """Where hair grows on the head shell (unit-sphere coordinates: y down, z towards the back)."""

    def __init__(self, identity: Identity):
        self.style = identity.hair_style
        self.thickness = {"short": 0.12, "buzz": 0.02, "bald": 0.03, "bob": 0.16, "long": 0.14, "curly": 0.3}[self.style]

    def mask(self, unit: np.ndarray) -> np.ndarray:
        y, z = unit[..., 1], unit[..., 2]
        back = np.clip(z, 0, 1)
        if self.style == "bald":
            # A horseshoe fringe around the back and sides.
            return _smoothstep((y + 0.15) / 0.1) * _smoothstep((0.45 + 0.2 * back - y) / 0.1) * _smoothstep((z + 0.1) / 0.2)
        level = {"short": -0.02, "buzz": -0.05, "bob": 0.35, "long": 0.45, "curly": 0.15}[self.style]
        return _smoothstep((level + 0.5 * back - y) / 0.12)

    def volume(self, unit: np.ndarray) -> np.ndarray:
        return self.thickness * self.mask(unit)

    def sheet(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        if self.style == "long":
            return (-1.15, 1.15), (-0.5, 3.2)
        if self.style == "bob":
            return (-1.05, 1.05), (-0.5, 1.45)
        return None


# ----------------------------------------------------------------------------------------- shape
def _interp_arc(face: np.ndarray, arc: np.ndarray, x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Value along ``axis`` of a contour arc at abscissae ``x`` (clamped at the ends)."""
    xs, ys = face[arc, 0], face[arc, axis]
    order = np.argsort(xs)
    return np.interp(x, xs[order], ys[order])


def _deform(t: FaceTemplate, p: Identity) -> np.ndarray:
    """Identity shape: smooth displacement fields over the template, (468, 3) float64."""
    v = t.vertices.astype(np.float64).copy()
    x, y = v[:, 0].copy(), v[:, 1].copy()
    y_nose, y_mouth, y_chin = v[2, 1], v[[13, 14], 1].mean(), v[152, 1]
    lower = _smoothstep((y - y_nose) / (y_chin - y_nose))
    v[:, 0] *= 1 + 0.08 * p.face_width
    v[:, 0] *= 1 + 0.12 * p.jaw * lower * _smoothstep((y - 0.2) / 0.5)
    v[:, 1] += 0.10 * p.face_length * np.clip((y - y_nose) / (y_chin - y_nose), 0, 1.2) + 0.05 * p.face_length * np.clip(-y / 0.5, 0, 1)
    v[:, 1] += 0.08 * p.chin * _smoothstep((y - y_mouth) / (y_chin - y_mouth)) ** 2
    v[:, 2] -= 0.05 * p.chin * _smoothstep((y - y_mouth) / (y_chin - y_mouth)) ** 2 * np.exp(-x ** 2 / 0.1)
    for cheek in (50, 280):
        g = _gauss(t.vertices[:, :2], t.vertices[cheek, :2], 0.2)
        v[:, 2] -= 0.07 * p.cheeks * g
        v[:, 0] += 0.04 * p.cheeks * g * np.sign(x)
    for upper, lower_arc, brow in ((t.eye_r_upper, t.eye_r_lower, t.brow_r_lower), (t.eye_l_upper, t.eye_l_lower, t.brow_l_lower)):
        c = t.vertices[np.concatenate([upper, lower_arc]), :2].mean(0)
        g = _gauss(t.vertices[:, :2], c, 0.14)
        side = np.sign(c[0])
        rel = v[:, :2] - c
        ang = math.radians(6.0 * p.eye_tilt) * -side
        rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
        v[:, :2] += g[:, None] * (rel * 0.12 * p.eye_size + (rel @ rot.T - rel))
        v[:, 0] += 0.04 * p.eye_spacing * side * _gauss(t.vertices[:, :2], c, 0.25)
        gb = _gauss(t.vertices[:, :2], t.vertices[brow, :2].mean(0), 0.16)
        v[:, 1] -= 0.04 * p.brow_height * gb
    gn = _gauss(t.vertices[:, :2], t.vertices[1, :2], 0.2)
    v[:, 1] += 0.06 * p.nose_length * gn * _smoothstep((y - 0.0) / 0.5)
    v[:, 2] -= 0.08 * p.nose_bridge * _gauss(t.vertices[:, :2], np.array([0.0, 0.35]), 0.16)
    v[:, 0] += 0.32 * p.nose_width * x * _gauss(t.vertices[:, :2], t.vertices[2, :2] - np.array([0, 0.05]), 0.12)
    y_line = _mouth_line(t, v)
    gm = _gauss(t.vertices[:, :2], t.vertices[[13, 14], :2].mean(0), 0.2)
    v[:, 1] += 0.045 * p.lip_fullness * np.tanh((y - y_line) / 0.04) * gm * _gauss(t.vertices[:, :2], t.vertices[[13, 14], :2].mean(0), 0.14)
    v[:, 0] += 0.07 * p.mouth_width * np.tanh(x / 0.2) * gm
    return v


def _mouth_line(t: FaceTemplate, face: np.ndarray) -> np.ndarray:
    """y of the lips' meeting line under each vertex (flat beyond the corners)."""
    x = face[:, 0]
    return (_interp_arc(face, t.mouth_upper, x) + _interp_arc(face, t.mouth_lower, x)) / 2


def _blendshapes(t: FaceTemplate, face: np.ndarray) -> dict[str, np.ndarray]:
    """Per-expression vertex displacements (468, 3) at full strength, on the identity's face."""
    x, y = face[:, 0], face[:, 1]
    out = {}
    # Mouth open: the jaw rotates about a hinge in front of the ears; lower lip and chin follow.
    y_line = _mouth_line(t, face)
    weight = _smoothstep((y - y_line + 0.015) / 0.09)
    weight[t.mouth_upper] = 0.0
    weight[t.mouth_lower] = 1.0
    weight[[t.mouth_upper[0], t.mouth_upper[-1]]] = 0.5
    hinge = np.array([0.0, 0.25, 0.85])
    a = math.radians(16.0)
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    jaw = ((face - hinge) @ rx.T + hinge - face) * weight[:, None]
    upper_lip = np.exp(-((y - y_line + 0.03) / 0.05) ** 2) * (y < y_line) * _gauss(face[:, :2], face[[13], :2].mean(0), 0.15)
    jaw[:, 1] -= 0.025 * upper_lip
    out["mouth_open"] = jaw
    # Smile: corners up and out, cheeks up, lips stretched.
    smile = np.zeros_like(face)
    for corner, side in ((61, -1), (291, 1)):
        g = _gauss(face[:, :2], face[corner, :2], 0.11)
        smile += g[:, None] * np.array([0.06 * side, -0.065, 0.03])
        cheek = _gauss(face[:, :2], (face[corner, :2] + face[[50, 280][side > 0], :2]) / 2 - [0, 0.05], 0.16)
        smile += cheek[:, None] * np.array([0.01 * side, -0.035, -0.02])
    out["smile"] = smile
    # Blink: the upper lid and the skin just above it slide down to meet the lower lid.
    blink = np.zeros_like(face)
    for upper, lower in ((t.eye_r_upper, t.eye_r_lower), (t.eye_l_upper, t.eye_l_lower)):
        y_up, y_low = _interp_arc(face, upper, x), _interp_arc(face, lower, x)
        xs = face[upper, 0]
        inside = _smoothstep((x - xs.min()) / 0.04) * _smoothstep((xs.max() - x) / 0.04)
        gap = (y_low - y_up) * inside
        above = y_up - y
        w_up = np.where(above < 0.025, 1.0, np.exp(-((above - 0.025) / 0.06) ** 2)) * (above > -0.01)
        below = y - y_low
        w_low = np.where(below < 0.015, 1.0, np.exp(-((below - 0.015) / 0.04) ** 2)) * (below > -0.01)
        blink[:, 1] += 0.8 * gap * w_up
        blink[:, 1] -= 0.2 * gap * w_low
        blink[upper, 1] = 0.8 * gap[upper]
        blink[lower, 1] = -0.2 * gap[lower]
    out["blink"] = blink
    # Brows up: brows and forehead rise, fading to nothing at the upper lid.
    brows = np.zeros(len(face))
    for upper, rows in ((t.eye_r_upper, (t.brow_r_upper, t.brow_r_lower)), (t.eye_l_upper, (t.brow_l_upper, t.brow_l_lower))):
        brow_pts = face[np.concatenate(rows)]
        y_brow, x_brow = brow_pts[:, 1].mean(), brow_pts[:, 0].mean()
        y_lid = face[upper, 1].min()
        rise = np.where(y > y_brow, np.clip((y_lid - y) / (y_lid - y_brow), 0, 1),
                        1 - 0.5 * np.clip((y_brow - y) / 0.5, 0, 1))
        brows = np.maximum(brows, rise * np.exp(-((x - x_brow) / 0.4) ** 2))
    out["brows_up"] = np.stack([np.zeros_like(brows), -0.075 * brows, np.zeros_like(brows)], 1)
    return out


# ----------------------------------------------------------------------------------------- texture
def _soft_poly(shape: tuple[int, int], polys: list[np.ndarray], blur: float) -> np.ndarray:
    """0..1 float32 mask of filled polygons (pixel coordinates), edges softened by ``blur`` px."""
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(p * 16).astype(np.int32) for p in polys], 1.0, cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), blur) if blur > 0 else mask


def _soft_line(shape: tuple[int, int], pts: np.ndarray, thickness: float, blur: float) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.polylines(mask, [np.round(pts * 16).astype(np.int32)], False, 1.0, max(1, int(round(thickness))), cv2.LINE_AA, shift=4)
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


def _paint_atlas(t: FaceTemplate, p: Identity, face: np.ndarray, face_uv_map, head_theta0: float,
                 rng: np.random.Generator) -> np.ndarray:
    """(1024, 1024, 4) uint8 BGRA texture atlas for one identity (layout: module constants)."""
    atlas = np.zeros((_ATLAS, _ATLAS, 4), np.float32)
    atlas[..., 3] = 255
    skin = np.array(p.skin, np.float32)
    hair = np.array(p.hair_color, np.float32)
    hair_model = _HairModel(p)

    # Face.
    n = _FACE[2]
    lo, scale = face_uv_map
    lm = (face[:, :2] - lo) * scale
    tex = np.empty((n, n, 3), np.float32)
    tex[:] = skin
    tex *= (1 + 0.05 * _smooth_noise(rng, (n, n), 5) + 0.025 * _smooth_noise(rng, (n, n), 40)
            + 0.015 * rng.standard_normal((n, n)).astype(np.float32))[..., None]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    px = lambda pt: np.asarray(pt, np.float32)  # noqa: E731

    def blob(centre, sigma_units, aspect=1.0):
        c = px(centre)
        s = sigma_units * scale
        return np.exp(-(((xx - c[0]) / s) ** 2 + ((yy - c[1]) / (s * aspect)) ** 2) / 2)

    red = skin * np.array([0.88, 0.86, 1.04], np.float32)
    redness = 0.45 * (blob(lm[50], 0.16) + blob(lm[280], 0.16)) + 0.35 * blob(lm[1], 0.07) + 0.2 * blob(lm[152] * 0.7 + lm[17] * 0.3, 0.1)
    _mix(tex, red, np.clip(redness, 0, 1))
    if p.freckles > 0:
        dots = (rng.uniform(size=(n, n)) > 0.995).astype(np.float32)
        dots = cv2.GaussianBlur(dots, (0, 0), 1.6) * 6
        area = blob(lm[1] * 0.4 + (lm[50] + lm[280]) * 0.3, 0.35, 0.5)
        _mix(tex, skin * 0.78, np.clip(dots * area * p.freckles, 0, 0.8))
    # Eye sockets, lids and lashes.
    for upper, lower in ((t.eye_r_upper, t.eye_r_lower), (t.eye_l_upper, t.eye_l_lower)):
        centre = lm[np.concatenate([upper, lower])].mean(0)
        _mix(tex, skin * np.array([0.8, 0.76, 0.8], np.float32), 0.35 * blob(centre + [0, -0.02 * scale], 0.12, 0.7))
        crease = lm[upper] + np.array([0, -0.045 * scale])
        _mix(tex, skin * 0.72, 0.35 * _soft_line((n, n), crease, 0.015 * scale, 0.012 * scale))
        lash = np.vstack([lm[upper], lm[upper[0]] + (lm[upper[0]] - lm[upper[1]]) * 0.8])
        _mix(tex, (25, 22, 25), 0.9 * _soft_line((n, n), lash, 0.022 * scale, 0.006 * scale))
        _mix(tex, (40, 35, 40), 0.35 * _soft_line((n, n), lm[lower], 0.01 * scale, 0.005 * scale))
    # Brows: a band between mediapipe's two brow rows, thickened about its midline, with strands.
    brow_color = np.minimum(hair * 0.8 + 10, skin * 0.5)
    for upper_row, lower_row in ((t.brow_r_upper, t.brow_r_lower), (t.brow_l_upper, t.brow_l_lower)):
        top, bottom = lm[upper_row].copy(), lm[lower_row].copy()
        mid = (top + bottom) / 2
        half = (top - bottom) / 2 * 0.9 * p.brow_thickness
        arch = np.sin(np.linspace(0.15, 1.0, len(mid)) * np.pi)[:, None] * np.array([0, -0.03 * scale * p.brow_arch])
        taper = np.linspace(0.55, 1.0, len(mid))[:, None]  # thin at the temple end
        poly = np.vstack([mid + half * taper + arch, (mid - half * taper + arch)[::-1]])
        mask = _soft_poly((n, n), [poly], 0.008 * scale)
        strands = 0.55 + 0.45 * _strands(rng, (n, n), 1.5)
        _mix(tex, brow_color, np.clip(mask * strands * 0.95, 0, 1))
    # Nostrils.
    for alar in (98, 327):
        c = lm[alar] * 0.55 + lm[2] * 0.45 + np.array([0, -0.012 * scale])
        mask = np.zeros((n, n), np.float32)
        cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(0.045 * scale), int(0.02 * scale)), 0, 0, 360, 1.0, -1)
        _mix(tex, skin * 0.35, 0.8 * cv2.GaussianBlur(mask, (0, 0), 0.01 * scale))
    # Lips.
    lips = np.vstack([lm[t.lips_upper], lm[t.lips_lower][::-1]])
    lip_mask = _soft_poly((n, n), [lips], 0.008 * scale)
    lip_color = np.array(p.lip_color, np.float32)
    _mix(tex, lip_color, 0.85 * lip_mask)
    _mix(tex, lip_color * 0.6, 0.6 * _soft_line((n, n), np.vstack([lm[t.mouth_upper]]), 0.01 * scale, 0.006 * scale))
    _mix(tex, np.minimum(lip_color * 1.15 + 10, 255), 0.3 * blob(lm[14] * 0.5 + lm[17] * 0.5, 0.04, 0.5) * lip_mask)
    # Beard: stubble over the lower face and upper lip, clear of the lips.
    outline = lm[t.oval]
    inside = _soft_poly((n, n), [outline], 0.01 * scale)
    if p.beard > 0:
        top = lm[[98, 327, 2], 1].mean() + 0.02 * scale
        jaw_band = _smoothstep((yy - top) / (0.2 * scale))
        cheeks = 1 - blob(lm[50], 0.17) - blob(lm[280], 0.17)
        beard = inside * np.clip(jaw_band * np.clip(cheeks, 0, 1), 0, 1)
        beard *= 1 - np.clip(cv2.GaussianBlur(cv2.dilate(lip_mask, np.ones((5, 5), np.uint8)), (0, 0), 2) * 1.3, 0, 1)
        grain = 0.5 + 0.5 * _strands(rng, (n, n), 2.0, curl=p.beard > 0.6)
        _mix(tex, hair * 0.9, np.clip(beard * grain * min(1.0, p.beard * 1.2), 0, 0.95))
    # Hair coming down from the top of the outline onto the forehead (hairline / fringe).
    if hair_model.style != "bald":
        inside_hard = (_soft_poly((n, n), [outline], 0) > 0.5).astype(np.uint8)
        dist = cv2.distanceTransform(inside_hard, cv2.DIST_L2, 5)
        brow_y = lm[np.concatenate([t.brow_r_upper, t.brow_l_upper]), 1].min()
        reach = (0.04 + 0.22 * p.hairline) * scale * (1 + 0.15 * _smooth_noise(rng, (n, n), 8))
        fringe = _smoothstep((reach - dist) / (0.03 * scale)) * (yy < brow_y - 0.05 * scale)
        if hair_model.style == "buzz":
            fringe *= 0.6
        _mix(tex, hair * (0.75 + 0.5 * _strands(rng, (n, n), 8.0, hair_model.style == "curly"))[..., None], np.clip(fringe, 0, 1))
    atlas[_FACE[0]:_FACE[0] + n, _FACE[1]:_FACE[1] + n, :3] = tex

    # Head shell: skin, ears and hair by longitude/angle from the front.
    n = _HEAD[2]
    vv, uu = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 3)
    theta = head_theta0 + uu * 2 * np.pi
    phi = vv * np.pi
    unit = np.stack([np.sin(phi) * np.cos(theta), np.sin(phi) * np.sin(theta), -np.cos(phi)], -1)
    tex = np.empty((n, n, 3), np.float32)
    tex[:] = skin * 0.96
    tex *= (1 + 0.04 * _smooth_noise(rng, (n, n), 6))[..., None]
    ear = _ear_bump(unit.reshape(-1, 3)).reshape(n, n) / 0.13
    _mix(tex, skin * np.array([0.85, 0.85, 1.0], np.float32), 0.5 * ear)
    _mix(tex, skin * 0.6, 0.5 * np.clip((ear - 0.6) / 0.3, 0, 1))
    hair_mask = hair_model.mask(unit)
    strands = _strands(rng, (n, n), 10.0, hair_model.style == "curly")
    hair_tex = hair * (0.75 + 0.45 * strands)[..., None]
    _mix(tex, hair_tex, np.clip(hair_mask * (0.55 if hair_model.style == "buzz" else 1.0), 0, 1))
    atlas[_HEAD[0]:_HEAD[0] + n, _HEAD[1]:_HEAD[1] + n, :3] = tex

    # Neck and shoulders: skin above a neckline, shirt below.
    bw, bh = _BODY[2], _BODY[3]
    vv, uu = np.mgrid[0:bh, 0:bw].astype(np.float32)
    height = 0.35 + vv / (bh - 3) * (6.5 - 0.35)
    angle = (uu / (bw - 3) - 0.5) * np.radians(230)
    neckline = 1.8 + (0.45 + 0.3 * (rng.uniform() - 0.5)) * np.cos(np.clip(angle * 1.4, -np.pi / 2, np.pi / 2)) ** 2
    tex = np.empty((bh, bw, 3), np.float32)
    tex[:] = skin * 0.93
    shade = 0.72 + 0.28 * _smoothstep((height - 0.5) / 1.0)  # the jaw's shadow on the neck
    tex *= shade[..., None]
    shirt = np.array(p.shirt, np.float32) * (1 + 0.08 * _smooth_noise(rng, (bh, bw), 10))[..., None]
    _mix(tex, shirt, _smoothstep((height - neckline) / 0.05))
    atlas[_BODY[0]:_BODY[0] + bh, _BODY[1]:_BODY[1] + bw, :3] = tex

    # Eye: sclera, iris with radial fibres and a limbal ring, pupil, catchlight.
    er, ec, es = _EYE
    h2 = 64
    vv, uu = np.mgrid[-h2:h2, -128:128].astype(np.float32) / es
    r = np.hypot(uu, vv)
    sclera = np.array([215, 222, 232], np.float32) * (1 - 0.2 * _smoothstep((np.abs(uu) - 0.05) / 0.15))[..., None]
    tex = sclera.copy()
    ang = np.arctan2(vv, uu)
    fibres = 0.75 + 0.25 * np.sin(ang * 37 + 3 * np.sin(ang * 5)) * (0.6 + 0.4 * np.sin(ang * 11))
    iris_color = np.array(p.eye_color, np.float32)[None, None, :] * fibres[..., None] * (0.8 + 0.4 * (r / _IRIS_RADIUS))[..., None]
    iris = _smoothstep((_IRIS_RADIUS - r) / 0.006)
    _mix(tex, iris_color, iris)
    _mix(tex, iris_color * 0.35, iris * _smoothstep((r - 0.8 * _IRIS_RADIUS) / (0.2 * _IRIS_RADIUS)))
    _mix(tex, (12, 10, 10), _smoothstep((0.4 * _IRIS_RADIUS - r) / 0.004))
    catch = np.exp(-(((uu - 0.018) ** 2 + (vv + 0.02) ** 2) / (2 * 0.007 ** 2)))
    _mix(tex, (250, 250, 250), 0.8 * catch)
    atlas[er - h2:er + h2, ec - 128:ec + 128, :3] = tex

    # Mouth interior: upper teeth under the upper lip, dark throat, tongue low.
    mr, mc, mw, mh = _MOUTH
    vv, uu = np.mgrid[0:mh, 0:mw].astype(np.float32)
    u, v = uu / (mw - 3), vv / (mh - 3)
    tex = np.empty((mh, mw, 3), np.float32)
    tex[:] = np.array([70, 70, 150], np.float32)
    tex *= (1 - 0.6 * np.exp(-(((u - 0.5) / 0.25) ** 2 + ((v - 0.5) / 0.25) ** 2)))[..., None]
    teeth = _smoothstep((0.32 - v) / 0.06) * _smoothstep((0.36 - np.abs(u - 0.5)) / 0.08)
    gaps = 0.85 + 0.15 * np.abs(np.cos((u - 0.5) * np.pi * 10))
    _mix(tex, np.array([200, 215, 225], np.float32) * gaps[..., None], teeth)
    tongue = np.exp(-(((u - 0.5) / 0.22) ** 2 + ((v - 0.85) / 0.12) ** 2))
    _mix(tex, np.array([90, 90, 170], np.float32), 0.8 * tongue)
    atlas[mr:mr + mh, mc:mc + mw, :3] = tex

    # Long-hair sheet: strands with a rounded outline in alpha.
    n = _SHEET[2]
    vv, uu = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1)
    strands = _strands(rng, (n, n), 16.0, hair_model.style == "curly")
    across = (uu - 0.5) * 2  # -1..1 over the sheet's width
    width = 0.78 + 0.22 * _smoothstep(vv / 0.35)  # hugs the head at the top, falls wider below
    roundness = np.sqrt(np.clip(np.cos(np.clip(across / width, -1, 1) * np.pi / 2), 0, 1))  # fake volume: darker edges
    tex = hair[None, None, :] * ((0.65 + 0.45 * strands) * (0.55 + 0.45 * roundness) * (1 - 0.25 * vv))[..., None]
    bottom = 0.97 - 0.12 * (across / width) ** 2
    alpha = (vv < bottom) & (np.abs(across) < width)
    atlas[_SHEET[0]:_SHEET[0] + n, _SHEET[1]:_SHEET[1] + n, :3] = tex
    atlas[_SHEET[0]:_SHEET[0] + n, _SHEET[1]:_SHEET[1] + n, 3] = alpha * 255
    return np.clip(atlas, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------- post
def _draw_glasses(region, zbuf, style, face, t, rotation, pivot, head_pivot, focal, centre) -> None:
    """Frames around each eye in front of the face, temple arms hidden where the head is nearer."""

    def project(pts):
        cam = (pts - head_pivot) @ rotation.T + pivot
        return focal * cam[:, :2] / cam[:, 2:3] + np.asarray(centre), cam[:, 2]

    color = (30, 30, 35) if style == "square" else (40, 70, 110)
    thick = max(1, int(round(focal / pivot[2] * 0.03)))
    rims = []
    for upper, lower in ((t.eye_r_upper, t.eye_r_lower), (t.eye_l_upper, t.eye_l_lower)):
        pts = face[np.concatenate([upper, lower])]
        c = pts.mean(0)
        c[1] += 0.03
        c[2] = face[[6, 168], 2].mean() - 0.05
        ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        if style == "round":
            ring = np.stack([0.24 * np.cos(ang), 0.21 * np.sin(ang), 0 * ang], 1)
        else:
            sq = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** 0.35, np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** 0.35
            ring = np.stack([0.27 * sq[0], 0.17 * sq[1], 0 * ang], 1)
        ring[:, 2] += 0.05 * (ring[:, 0] * np.sign(c[0])) ** 2 * 8
        rims.append(c + ring)
    for ring in rims:
        xy, _ = project(ring)
        cv2.polylines(region, [np.round(xy * 16).astype(np.int32)], True, color, thick, cv2.LINE_AA, shift=4)
    bridge = np.array([rims[0][0], rims[1][len(rims[1]) // 2]])
    xy, _ = project(np.array([bridge[0], (bridge[0] + bridge[1]) / 2 - [0, 0.04, 0.02], bridge[1]]))
    cv2.polylines(region, [np.round(xy * 16).astype(np.int32)], False, color, thick, cv2.LINE_AA, shift=4)
    h, w = zbuf.shape
    for ring, side in ((rims[0], -1), (rims[1], 1)):
        start = ring[len(ring) // 2] if side < 0 else ring[0]
        end = np.array([start[0] + side * 0.12, face[234, 1] - 0.05, face[234, 2] + 0.6])
        seg = start + (end - start) * np.linspace(0, 1, 12)[:, None]
        xy, z = project(seg)
        for i in range(len(seg) - 1):
            mx, my = ((xy[i] + xy[i + 1]) / 2).astype(int)
            if 0 <= mx < w and 0 <= my < h and z[i] > zbuf[my, mx] + 0.02:
                continue
            cv2.line(region, tuple(np.round(xy[i] * 16).astype(int)), tuple(np.round(xy[i + 1] * 16).astype(int)),
                     color, thick, cv2.LINE_AA, shift=4)


def _motion_blur(region: np.ndarray, vector: np.ndarray) -> None:
    """Box blur along ``vector`` (pixels) in place."""
    length = float(np.hypot(*vector))
    if length < 1.0:
        return
    k = int(math.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    d = vector / length
    for s in np.linspace(-length / 2, length / 2, 2 * k):
        kernel[int(round(c + d[1] * s)), int(round(c + d[0] * s))] += 1
    region[:] = cv2.filter2D(region, -1, kernel / kernel.sum())
