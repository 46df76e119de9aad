"""Clips for the detector: synthetic people rendered to a file, swaps of a clip made by ``swapcam
live``, and what a video call does to a clip (H.264 at a call's bitrate and half size, JPEG).

Pure core: the :data:`DEGRADATIONS` (frames in, frames out). Wrappers write and read files.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from swapcam.realtime.cli import main as swapcam
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.sources.synthetic.video import SyntheticSettings, SyntheticVideo

Frames = list[np.ndarray]  # (H, W, 3) uint8 BGR each


def read_frames(path: Path) -> tuple[Frames, float]:
    """All frames of a video file (BGR uint8) and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        return [f.to_ndarray(format="bgr24") for f in container.decode(stream)], fps


def encode(frames: Iterable[np.ndarray], fps: float, out: str | io.BytesIO, kbps: int | None = None) -> None:
    """H.264 in MP4: at ``kbps`` kbit/s, or CRF 18 (near lossless, the clean case) when None."""
    with av.open(out, "w", format="mp4") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=round(fps))
                stream.height, stream.width = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
                stream.pix_fmt = "yuv420p"
                if kbps:
                    stream.bit_rate = kbps * 1000
                else:
                    stream.options = {"crf": "18"}
            picture = av.VideoFrame.from_ndarray(frame[: stream.height, : stream.width], format="bgr24")
            for packet in stream.encode(picture):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)


def call_h264(frames: Frames, fps: float) -> Frames:
    """What a video call at 1 Mbit/s does: half size, H.264 at 1,000 kbit/s."""
    half = [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA) for f in frames]
    buffer = io.BytesIO()
    encode(half, fps, buffer, kbps=1000)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def jpeg(frames: Frames, _fps: float, quality: int = 70) -> Frames:
    """Every frame through JPEG at ``quality`` (a photo shared, a screenshot)."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    return [cv2.imdecode(cv2.imencode(".jpg", f, params)[1], cv2.IMREAD_COLOR) for f in frames]


#: name → what it does to a clip (frames, fps) → frames
DEGRADATIONS: dict[str, Callable[[Frames, float], Frames]] = {
    "clean": lambda frames, _fps: frames,
    "h264_1m_half": call_h264,
    "jpeg70": jpeg,
}


def render_synthetic(spec: str, seconds: float, out: Path) -> Path:
    """A synthetic person (``swapcam live --input synthetic:`` options) rendered to an MP4 file."""
    video = SyntheticVideo(SyntheticSettings.from_spec(spec))
    count = round(seconds * video.fps)
    frames: Iterator[np.ndarray] = (video.frame(i).image for i in range(count))
    part = out.with_name(out.stem + ".part.mp4")
    encode(frames, video.fps, str(part))
    return part.replace(out)


def swap_clip(clip: Path, model: Path, out: Path) -> Path:
    """``swapcam live`` with ``model`` over every frame of ``clip``, unlabelled and unmarked (the
    case the detector is for: a swap whose mark was washed out)."""
    part = out.with_name(out.stem + ".part.mp4")  # renamed when whole: an interrupted run is redone
    # fmt: off
    status = swapcam(["live", "--input", f"file:{clip}", "--model", str(model), "--output", f"file:{part}",
                      "--label", "", "--no-watermark", "--pace", "every"])
    # fmt: on
    if status or not part.exists():
        raise UserError(f"swapcam live could not swap {clip} with {model}: run it by hand to see why")
    return part.replace(out)


def render_crowd(seeds: range, frames_each: int, out: Path) -> Path:
    """Many random synthetic people in one clip, ``frames_each`` consecutive frames each from a
    start that varies with the seed (so poses and expressions vary across people): many identities
    for the cost of one ``swapcam live`` run."""

    def frames() -> Iterator[np.ndarray]:
        for seed in seeds:
            video = SyntheticVideo(SyntheticSettings.from_spec(f"identity=random,seed={seed},size=640x480"))
            start = (seed * 37) % 600
            yield from (video.frame(start + i).image for i in range(frames_each))

    part = out.with_name(out.stem + ".part.mp4")
    encode(frames(), 30.0, str(part))
    return part.replace(out)
