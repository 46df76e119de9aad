"""Recording: ``file:PATH`` outputs encoded with PyAV (FFmpeg inside its wheel; nothing downloads).

The default is H.264 (libx264, CRF 21, yuv420p) in MP4 with the index at the front (``+faststart``),
which every player and browser opens. Frame by frame (offline) it uses preset veryfast: 10 s of
synthetic 720p took 0.48 MB against 1.87 MB for OpenCV's old mp4v, at a higher PSNR (38.6 against
37.2 dB), for about 11 ms of CPU a frame. In live pacing, where the encoder shares the CPU with the
swap, it uses preset ultrafast (1.77 MB, 38.6 dB, about 3.6 ms a frame): on two cores shared with a
training job, a 720p recording beside ``--output null`` took the stream from 29.5 to 28.0 fps (p50
25 → 27 ms) with ultrafast, and from 30.0 to 27.3 fps (p50 19 → 38 ms) with veryfast. Codecs are
registered with what they need: the encoder, the containers they are written in, the pixel format
and how quality is set when no bitrate is given.

Each frame is stamped with its time in the input (``Frame.media_time``), not with a running count:
in live pacing, where frames are dropped, the recording still plays at the speed it was captured.
With a ``file:`` input in every-frame pacing, the input's sound is carried along (realtime/sinks/audio.py).

The muxer is closed in :meth:`FileSink.close`, which the live run calls on every way out (end of
input, a limit, Ctrl-C, a fault), so a stopped recording is a complete, playable file.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

import av
import cv2
import numpy as np
from av.video.stream import VideoStream

from ..core.errors import UserError
from ..core.files import require_folder
from .audio import AudioTrack
from .codecs import CODECS

if TYPE_CHECKING:
    from ..sources.base import Frame
    from .base import OutputSettings, Stream


# faststart moves the index to the front when the file is closed: players can start before the end
# has downloaded
CONTAINER_OPTIONS = {".mp4": {"movflags": "+faststart"}, ".mov": {"movflags": "+faststart"}}


def frame_rate(fps: float) -> Fraction:
    """The exact rate behind a float fps: 29.97002997 → 30000/1001, 30.0 → 30."""
    return Fraction(fps).limit_denominator(1001)


def even_size(width: int, height: int) -> tuple[int, int]:
    """4:2:0 video needs even sides: odd ones grow by a black pixel row or column."""
    return width + width % 2, height + height % 2


class MediaClock:
    """Presentation times of frames at ``rate``, from their time in the input (``Frame.media_time``,
    the first frame at 0): gaps where frames were dropped stay gaps, so the video plays at the
    speed it was captured."""

    def __init__(self, rate: Fraction):
        self.rate = rate
        self.origin: float | None = None
        self.last_pts = -1

    def pts(self, media_time: float) -> int:
        if self.origin is None:
            self.origin = media_time
        # never before the previous frame (a camera's clock may jitter)
        self.last_pts = max(self.last_pts + 1, round((media_time - self.origin) * self.rate))
        return self.last_pts


def end_video(container: Any, video: VideoStream, before_close: Callable[[], None] = lambda: None) -> None:
    """Flush the encoder's last frames into ``container``, run ``before_close`` (the sound's end),
    and close the container even when flushing fails."""
    try:
        container.mux(video.encode(None))
        before_close()
    finally:
        container.close()


def video_frame(image: np.ndarray, video: VideoStream, pts: int, rate: Fraction) -> av.VideoFrame:
    """(H, W, 3) uint8 BGR as a frame for ``video``'s encoder: padded to its (even) size, in its pixel
    format, stamped ``pts`` in units of 1/``rate``."""
    width, height = video.width, video.height
    if image.shape[:2] != (height, width):
        padded = np.zeros((height, width, 3), np.uint8)
        padded[: image.shape[0], : image.shape[1]] = image
        image = padded
    if video.pix_fmt == "yuv420p":
        # OpenCV's BGR → I420 took 0.55 ms a 720p frame against 4.6 ms in FFmpeg's swscale (more
        # than ultrafast's whole encode), and decoded closer to the input (38.5 against 37.3 dB)
        i420 = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), np.uint8)  # no copy: already uint8
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
    else:
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts = pts
    frame.time_base = 1 / rate
    return frame


class FileSink:
    closed_by_user = False

    def __init__(self, argument: str, stream: Stream, settings: OutputSettings):
        if not argument:
            raise UserError("output file: needs a path, e.g. --output file:out.mp4")
        path = require_folder(argument)
        if stream.source is not None and path.resolve() == stream.source.resolve():
            raise UserError(f"output {path} is the input: write the recording to another file")
        codec = CODECS.get(settings.codec)
        suffix = path.suffix.lower()
        if suffix not in codec.suffixes:
            fitting = [name for name in CODECS if suffix in CODECS.get(name).suffixes]
            fix = f"--codec {' or '.join(fitting)}" if fitting else "a .mp4 name"
            raise UserError(
                f"cannot write {settings.codec} video to a {suffix or 'nameless'} file: use "
                f"{'a ' + ' or '.join(codec.suffixes) + ' name'} or {fix}"
            )
        self.path = path
        self.rate = frame_rate(stream.fps)
        try:
            self.container: Any = av.open(str(path), "w", options=CONTAINER_OPTIONS.get(suffix, {}))
        except (OSError, av.FFmpegError) as err:
            raise UserError(f"cannot write {path} ({err}): check the folder's permissions") from None
        self.video = cast(VideoStream, self.container.add_stream(codec.encoder, rate=self.rate))
        self.video.width, self.video.height = even_size(stream.width, stream.height)
        self.video.pix_fmt = codec.pix_fmt
        if settings.bitrate:
            self.video.bit_rate = settings.bitrate * 1000
        elif codec.quantiser is not None:
            # qmin = qmax pins it (PyAV's qscale flag with global_quality measured no different from q 2)
            self.video.codec_context.qmin = self.video.codec_context.qmax = codec.quantiser
        else:
            live = stream.live and codec.live_options is not None
            self.video.options = dict(codec.live_options if live and codec.live_options else codec.options)
        self.audio = None
        self.audio_note = "none: the input is not a file"
        if stream.source is not None and stream.source.is_file():
            if stream.live:
                self.audio_note = "not carried: live pacing drops frames (use --pace every)"
            elif stream.looped:
                self.audio_note = "not carried: the input loops"
            else:
                self.audio = AudioTrack(stream.source, self.container, suffix)
                self.audio_note = self.audio.note
        self.clock = MediaClock(self.rate)
        self._closed = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        pts = self.clock.pts(frame.media_time)
        self.container.mux(self.video.encode(video_frame(image, self.video, pts, self.rate)))
        if self.audio is not None:  # the sound up to this frame (the muxer interleaves the two)
            self.audio.mux_until(float((pts + 1) / self.rate))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        audio = self.audio
        end = float((self.clock.last_pts + 1) / self.rate)
        end_video(self.container, self.video, (lambda: audio.finish(end)) if audio is not None else lambda: None)
