"""The synthetic camera itself: its settings, its frames with ground truth, and
:class:`SyntheticVideo`, which poses the rigged person along the trajectory and renders each frame."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_type_hints

import cv2
import numpy as np

from ...core.errors import UserError
from ...core.settings import Settings, setting
from .identity import IDENTITIES, PRESET_NAMES, random_identity
from .maths import rotation_matrix, smoothstep
from .mesh import EXPRESSIONS, FaceTemplate
from .occluder import draw_hand, hand_sprite
from .rig import Rig
from .scene import NOISE_MARGIN, Trajectory, background, light_at, noise_tiles

POSE_RANGE = (30.0, 20.0, 20.0)  # max |yaw|, |pitch|, |roll| in degrees at motion = 1

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
    occluder: str = setting(
        "none", "something that comes in front of the face now and then: none or hand", choices=("none", "hand")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.identity != "random" and self.identity not in IDENTITIES:
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


@dataclass(frozen=True)
class SyntheticFrame:
    index: int
    image: np.ndarray  # (H, W, 3) uint8 BGR
    landmarks: np.ndarray  # (468, 2) float32 pixel x, y in mediapipe order
    pupils: np.ndarray  # (2, 2) float32: person's right eye first, then left
    pose: tuple[float, float, float]  # yaw, pitch, roll in degrees (signs: package docstring)
    expression: dict[str, float]  # EXPRESSIONS → 0..1
    occluder: np.ndarray | None = None  # (H, W) bool: where an occluder covers the picture (None: no occluder)


class SyntheticVideo:
    """Endless deterministic synthetic camera: ``frame(i)`` depends only on (settings, i)."""

    def __init__(self, settings: SyntheticSettings, template: FaceTemplate | None = None):
        self.settings = settings
        self.fps = settings.fps
        self.width, self.height = settings.width, settings.height
        self.identity = (
            random_identity(settings.seed) if settings.identity == "random" else IDENTITIES.get(settings.identity)
        )
        self.focal = 0.9 * max(self.width, self.height)  # pixels
        self._traj = Trajectory(settings.seed)
        self._rig = Rig(template if template is not None else FaceTemplate.load(), self.identity, settings.seed)
        rng = np.random.default_rng([settings.seed, 0xBAC])
        self._background = background(rng, self.width, self.height)
        self._noise = noise_tiles(rng, self.width, self.height, settings.noise)
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
        talk = smoothstep((s["talk"] + 0.1) / 0.6) * (0.5 + 0.5 * s["syllable"]) * 0.55
        yawn = smoothstep((s["yawn"] - 0.55) / 0.35)
        expression = {
            "mouth_open": float(np.clip(max(talk, yawn), 0.0, 1.0)),
            "smile": float(smoothstep((s["smile"] - 0.1) / 0.6)),
            "blink": self._traj.blink(t),
            "brows_up": float(smoothstep((s["brows"] - 0.35) / 0.5)),
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
        distance = self.focal / iod_px
        px = self.width * (0.5 + 0.12 * m * s["x"])
        py = self.height * (0.58 + 0.07 * m * s["y"])
        pivot = np.array(
            [(px - self.width / 2) * distance / self.focal, (py - self.height / 2) * distance / self.focal, distance]
        )
        return rotation_matrix(*pose), pivot

    def render(self, pose: tuple[float, float, float], expression: dict[str, float], index: int = 0) -> SyntheticFrame:
        """Frame ``index`` with an explicit head pose (degrees) and expression (missing keys are 0);
        position, scale, gaze, light and noise still follow the trajectory at ``index``."""
        unknown = set(expression) - set(EXPRESSIONS)
        if unknown:
            raise ValueError(f"unknown expression {sorted(unknown)}: use {EXPRESSIONS}")
        expr = {k: float(np.clip(expression.get(k, 0.0), 0.0, 1.0)) for k in EXPRESSIONS}
        yaw, pitch, roll = (float(v) for v in pose)
        pose = (yaw, pitch, roll)
        s = self._traj(index / self.fps)
        rotation, pivot = self._camera(index, pose)
        image = self._background.copy()
        gaze = (pose[0] * -0.6 + 8.0 * s["gaze_x"], pose[1] * -0.5 + 5.0 * s["gaze_y"])
        light_dir, light_rgb = light_at(s)
        landmarks, pupils = self._rig.draw(
            image,
            rotation,
            pivot,
            self.focal,
            expr,
            gaze,
            light_dir,
            light_rgb,
            self._blur_vector(index) if self.settings.motion_blur else None,
        )
        occluder = None
        if self._hand is not None:
            occluder = draw_hand(image, index / self.fps, landmarks, self._hand, self.settings.seed)
        if self._noise is not None:
            rng = np.random.default_rng([self.settings.seed, index, 0x5E5])
            dy, dx = (int(v) for v in rng.integers(0, NOISE_MARGIN, 2))
            pos, neg = self._noise
            cv2.add(image, pos[dy : dy + self.height, dx : dx + self.width], dst=image)
            cv2.subtract(image, neg[dy : dy + self.height, dx : dx + self.width], dst=image)
        return SyntheticFrame(
            index=index, image=image, landmarks=landmarks, pupils=pupils, pose=pose, expression=expr, occluder=occluder
        )

    def face_in_camera(self, pose: tuple[float, float, float], index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The person's neutral face (468, 3) in the camera frame (x right, y down, z ahead, template
        units) as :meth:`render` places it for ``pose`` at frame ``index``, and the head rotation.
        Projected with :attr:`focal` about the image centre it gives the landmarks of
        ``render(pose, {}, index)``."""
        rotation, pivot = self._camera(index, pose)
        return (self._rig.face - self._rig.pivot) @ rotation.T + pivot, rotation

    def _blur_vector(self, index: int) -> np.ndarray:
        """Pixel motion of the nose tip during the exposure along the trajectory; webcams in room
        light expose for most of the frame interval, so the exposure is taken as the whole of it."""
        nose = self._rig.face[1] - self._rig.pivot
        ends = []
        for i in (index - 1, index):
            rotation, pivot = self._camera(i, self.pose_at(i)[0])
            p = rotation @ nose + pivot
            ends.append(self.focal * p[:2] / p[2])
        return ends[1] - ends[0]
