"""Streaming: ``udp://HOST:PORT`` sends H.264 in MPEG-TS, what OBS's media source, ffplay and VLC open.

A live output: it shows the newest frame and never builds a backlog (with several outputs its queue
holds one frame and drops the oldest). UDP has no flow control, so a receiver that stalls or is not
there loses datagrams on its side; the sender never waits for it.

The encoder is set for a viewer watching now, not for a file:

* ``tune zerolatency``: no B-frames, no lookahead, no frame threads, so each frame leaves the encoder
  as soon as it goes in (instead of a dozen frames later);
* a keyframe at least every second (``g``): a receiver that joins late, or lost a datagram of a
  keyframe, has a whole picture within a second;
* a capped rate (``--bitrate``, or about 0.1 bit a pixel): a burst above what the network carries is
  lost, not delayed, on UDP; a half-second VBV buffer keeps keyframes inside the cap;
* preset ultrafast in live pacing, as for recordings (realtime/sinks/recording.py: it shares the CPU with
  the swap), veryfast when frames come one by one;
* the muxer writes every packet out at once (``flush_packets``) in 1316-byte datagrams (seven TS
  packets, inside a 1500-byte Ethernet MTU), and gives each frame's PES its length (FFmpeg leaves it
  out for video by default), so a receiver's demuxer hands a frame on once it is in, not when the
  next one begins: sent → decoded by a PyAV client on loopback fell from 68 to 35 ms (320×240).

Frames of an input processed frame by frame (a file in every-frame pacing) go out at the input's own
pace, not as fast as they are swapped: a receiver plays a stream at the rate it arrives.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import av
import numpy as np
from av.video.stream import VideoStream

from ..core.errors import UserError
from .recording import MediaClock, end_video, even_size, frame_rate, video_frame

if TYPE_CHECKING:
    from ..sources.base import Frame
    from .base import OutputSettings, Stream

EXAMPLE = "--output udp://127.0.0.1:5000"
# the rate when --bitrate is 0: x264 ultrafast keeps faces and text clean at about this (3.3 Mbit/s
# for 720p at 30 fps)
DEFAULT_BITS_PER_PIXEL = 0.12
DATAGRAM_BYTES = 1316  # 7 × 188-byte TS packets
LIVE_PRESET, FRAME_BY_FRAME_PRESET = "ultrafast", "veryfast"
MUXER_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0"}


def stream_url(argument: str) -> str:
    """``//HOST:PORT[?OPTIONS]`` (what follows ``udp:``) as FFmpeg's URL with the datagram size set;
    UserError when the host or port is missing."""
    try:
        parts = urlsplit(f"udp:{argument}")
        port = parts.port
    except ValueError:
        port = None
    if not argument.startswith("//") or not parts.hostname or port is None:
        raise UserError(f"output udp:{argument} needs a host and a port: use e.g. {EXAMPLE}")
    if "pkt_size=" in parts.query:
        return f"udp:{argument}"
    return f"udp:{argument}{'&' if parts.query else '?'}pkt_size={DATAGRAM_BYTES}"


def stream_kbps(width: int, height: int, fps: float, bitrate_kbps: int) -> int:
    """The video rate in kbit/s: ``bitrate_kbps``, or DEFAULT_BITS_PER_PIXEL of the stream when 0."""
    return bitrate_kbps or max(100, round(width * height * fps * DEFAULT_BITS_PER_PIXEL / 1000))


def encoder_options(fps: float, kbps: int, live: bool) -> dict[str, str]:
    """libx264 options for a stream at ``fps`` and ``kbps`` (see the module docstring)."""
    return {
        "preset": LIVE_PRESET if live else FRAME_BY_FRAME_PRESET,
        "tune": "zerolatency",
        "g": str(max(1, round(fps))),
        "maxrate": f"{kbps}k",
        "bufsize": f"{max(1, kbps // 2)}k",
    }


class UdpSink:
    closed_by_user = False

    def __init__(self, argument: str, stream: Stream, settings: OutputSettings):
        self.url = stream_url(argument)
        self.rate = frame_rate(stream.fps)
        try:
            self.container: Any = av.open(self.url, "w", format="mpegts", options=MUXER_OPTIONS)
        except (OSError, av.FFmpegError) as err:
            raise UserError(f"cannot stream to udp:{argument} ({err}): check the host name and the port") from None
        self.kbps = stream_kbps(stream.width, stream.height, stream.fps, settings.bitrate)
        self.video: VideoStream = self.container.add_stream("libx264", rate=self.rate)
        self.video.width, self.video.height = even_size(stream.width, stream.height)
        self.video.pix_fmt = "yuv420p"
        self.video.bit_rate = self.kbps * 1000
        self.video.options = dict(encoder_options(stream.fps, self.kbps, stream.live))
        self.clock = MediaClock(self.rate)
        self.paced = not stream.live  # frames come one by one: send them at the input's pace
        self._first_sent: float | None = None  # perf_counter time the first frame went out
        self._closed = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        pts = self.clock.pts(frame.media_time)
        if self.paced:
            self._wait_until_due(pts)
        self.container.mux(self.video.encode(video_frame(image, self.video, pts, self.rate)))

    def _wait_until_due(self, pts: int) -> None:
        now = time.perf_counter()
        if self._first_sent is None:
            self._first_sent = now
            return
        due = self._first_sent + float(pts / self.rate)
        if due > now:
            time.sleep(due - now)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        end_video(self.container, self.video)
