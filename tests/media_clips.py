"""Clips made in code for the recording tests: a flash of light and a beep at the same instant."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

BEEP_HZ = 1000.0


def flash_and_beep(
    path: Path, fps: int = 30, frames: int = 60, flash: int = 30, audio: str = "aac", size=(160, 120), rate=48000
) -> float:
    """Write a clip whose frame ``flash`` is white (the others dark grey) and whose sound is silent
    until a beep starts at ``flash / fps`` s. Returns that instant."""
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
    sound = container.add_stream(audio, rate=rate)
    sound.layout = "mono"
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 255 if i == flash else 30, np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = i
        container.mux(video.encode(frame))
    onset = flash / fps
    samples = int(frames / fps * rate)
    t = np.arange(samples) / rate
    signal = np.where(t >= onset, 0.5 * np.sin(2 * np.pi * BEEP_HZ * (t - onset)), 0.0).astype(np.float32)
    planar = "fltp" if audio == "aac" else "s16"
    for start in range(0, samples, 1024):
        chunk = signal[None, start : start + 1024]
        if planar == "s16":
            chunk = (chunk * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(chunk, format=planar, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        container.mux(sound.encode(frame))
    container.mux(video.encode(None))
    container.mux(sound.encode(None))
    container.close()
    return onset


def flash_time(path: Path) -> float:
    """Presentation time (s) of the brightest video frame, as a player shows it."""
    with av.open(str(path)) as container:
        frames = [(f.to_ndarray(format="gray").mean(), float(f.time)) for f in container.decode(video=0)]
    return max(frames)[1]


def beep_time(path: Path, threshold: float = 0.1) -> float | None:
    """Presentation time (s) of the first audio sample louder than ``threshold`` (None: silent)."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray().astype(np.float64)
            if samples.dtype.kind == "i" or np.abs(samples).max() > 2:
                samples = samples / 32768
            loud = np.flatnonzero(np.abs(samples).max(0) > threshold)
            if loud.size:
                return float(frame.time) + loud[0] / frame.sample_rate
    return None
