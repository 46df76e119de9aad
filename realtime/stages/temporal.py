"""Averaging over time, per tracked face: what the colour and blend stages use so that what they
measure on each frame (colour statistics, the edge correction) does not flicker."""

from __future__ import annotations

import math

import numpy as np

# A face unseen for longer than this starts afresh: after a cut or a new person, old values mislead.
MAX_GAP_S = 1.0


class TrackAverage:
    """Exponential moving average of a tuple of arrays per track, on the frames' media time:
    ``value ← value + (1 − exp(−Δt / τ)) (new − value)``. τ = 0 passes values through."""

    def __init__(self, tau: float):
        self.tau = tau
        self._tracks: dict[int, tuple[float, tuple[np.ndarray, ...]]] = {}

    def __call__(self, values: tuple[np.ndarray, ...], media_time: float, track: int = 0) -> tuple[np.ndarray, ...]:
        if self.tau <= 0:
            return values
        previous = self._tracks.get(track)
        if previous is not None and 0.0 < media_time - previous[0] < MAX_GAP_S:
            rate = 1.0 - math.exp(-(media_time - previous[0]) / self.tau)
            values = tuple(
                old + np.asarray(rate, old.dtype) * (new - old) for old, new in zip(previous[1], values, strict=True)
            )
        self._tracks[track] = (media_time, values)
        return values

    def reset(self) -> None:
        """Forget every track (no face in the frame)."""
        self._tracks.clear()
