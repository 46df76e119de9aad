"""Small shared maths of the synthetic camera: easing, Gaussian falloff and head rotations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def smoothstep(x: np.ndarray | float) -> Any:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def gauss(points: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((points - centre) ** 2).sum(-1) / (2 * sigma * sigma))


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-frame rotation for a head pose in degrees (signs as in the package docstring)."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[math.cos(-y), 0, math.sin(-y)], [0, 1, 0], [-math.sin(-y), 0, math.cos(-y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(-p), -math.sin(-p)], [0, math.sin(-p), math.cos(-p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def rotation_angles(rotation: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) radians back from :func:`rotation_matrix` (rz @ ry(-yaw) @ rx(-pitch))."""
    yaw = -math.asin(np.clip(-rotation[2, 0], -1, 1))
    pitch = -math.atan2(rotation[2, 1], rotation[2, 2])
    roll = math.atan2(rotation[1, 0], rotation[0, 0])
    return np.array([yaw, pitch, roll])


def sphere_point(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit vectors (N, 3) at longitude ``theta`` about the view axis and angle ``phi`` from the front
    (phi = 0 points at the camera, -z; y down, as everywhere in the head frame)."""
    return np.stack([np.sin(phi) * np.cos(theta), np.sin(phi) * np.sin(theta), -np.cos(phi)], -1)
