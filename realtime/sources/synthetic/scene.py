"""What moves and what stays around the synthetic person: the seeded trajectory (pose, position,
gaze, light, expressions, blinks), the light it drives, the room behind and the sensor noise."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .maths import smoothstep

NOISE_MARGIN = 64  # the noise tile is this much larger than the frame: room for per-frame offsets


class Trajectory:
    """Seeded smooth signals: each channel is a sum of three sinusoids, normalised to peak at ±1."""

    CHANNELS = ("yaw", "pitch", "roll", "x", "y", "scale", "gaze_x", "gaze_y", "light_az", "light_el",
                "temperature", "smile", "brows", "talk", "syllable", "yawn")  # fmt: skip

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
                value = max(value, smoothstep(dt / 0.1))
            elif 0.1 <= dt < 0.3:
                value = max(value, 1.0 - smoothstep((dt - 0.1) / 0.2))
        return float(value)


def light_at(s: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Unit direction towards the light (camera frame) and its BGR colour."""
    az = math.radians(50.0 * s["light_az"])
    el = math.radians(30.0 + 20.0 * s["light_el"])
    direction = np.array([math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)])
    warm = 0.5 + 0.5 * s["temperature"]  # 0 = cool daylight, 1 = warm tungsten
    rgb = np.array([1.06 - 0.22 * warm, 1.0 - 0.05 * warm, 0.92 + 0.16 * warm])
    return direction, rgb


def noise_tiles(rng: np.random.Generator, width: int, height: int, strength: float):
    """Positive and negative parts of one Gaussian noise tile, larger than the frame so each frame
    reads it at its own offset (drawing fresh normals per frame costs more than the whole render)."""
    if strength <= 0:
        return None
    noise = rng.standard_normal((height + NOISE_MARGIN, width + NOISE_MARGIN, 3), np.float32) * (2.2 * strength)
    noise = np.round(noise)
    return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
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
        block: np.ndarray = np.zeros((h, w), np.float32)
        cv2.rectangle(block, (int(x0), int(y0)), (int(x0 + bw), int(y0 + bh)), (1.0,), -1)
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
