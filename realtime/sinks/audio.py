"""The sound of a ``file:`` input carried into a recording, in step with the video.

Only in every-frame pacing: there the recording holds every input frame at its own time, so the
input's audio fits it as it is. Live pacing drops frames, and the recording's clock then is not the
input's; the recording stays silent and says so.

Time zero of the recording is the input's first video frame: each audio packet keeps its distance
from that frame. Packets are copied unchanged when the container takes the codec (AAC, MP3, … in
MP4); otherwise they are decoded and encoded again (PCM into MP4 becomes AAC).
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

# what each container takes as it is (anything else is encoded to the second entry); MP4 would
# accept PCM or Vorbis on paper, but common players then play the video silently
CONTAINER_AUDIO: dict[str, tuple[frozenset[str] | None, str]] = {
    ".mp4": (frozenset({"aac", "mp3", "ac3", "eac3", "alac"}), "aac"),
    ".mov": (frozenset({"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le"}), "aac"),
    ".mkv": (None, "aac"),
    ".avi": (frozenset({"mp3", "ac3", "pcm_s16le"}), "pcm_s16le"),
}


def first_video_time(container: Any) -> float:
    """Seconds at which the container's first video frame starts (0 when it does not say)."""
    for stream in container.streams.video:
        if stream.start_time is not None and stream.time_base is not None:
            return float(stream.start_time * stream.time_base)
    return 0.0


class AudioTrack:
    """Copies (or re-encodes) the first audio stream of ``source`` into ``output``, a PyAV output
    container whose file name ends in ``suffix``. ``note`` says what happens to the sound; a source
    without audio leaves ``note`` = "none in the input" and muxes nothing."""

    def __init__(self, source: Path, output: Any, suffix: str):
        self._input = av.open(str(source))
        self._packets: Iterator[Any] | None = None
        self._done = False
        streams = self._input.streams.audio
        if not streams:
            self.note = "none in the input"
            self._input.close()
            self._done = True
            return
        audio = streams[0]
        self._in = audio
        self._origin = first_video_time(self._input)
        copied, encoder = CONTAINER_AUDIO.get(suffix, (frozenset(), "aac"))
        name = audio.codec_context.name
        self._copy = copied is None or name in copied
        if self._copy:
            self._out = output.add_stream_from_template(audio)
            self.note = f"{name} copied"
        else:
            self._out = output.add_stream(encoder, rate=audio.sample_rate)
            self._out.layout = audio.layout.name
            self._next_sample: int | None = None
            self.note = f"{name} re-encoded to {encoder}"
        self._output = output
        self._packets = self._input.demux(audio)
        self._pending: Any = None  # a packet read past the time muxed so far

    def mux_until(self, seconds: float) -> None:
        """Mux the audio that starts before ``seconds`` (recording time)."""
        while not self._done and self._packets is not None:
            packet, self._pending = self._pending, None
            if packet is None:
                packet = next(self._packets, None)
            if packet is None:
                self._done = True
                break
            if packet.pts is None:  # the demuxer's empty flush packet
                continue
            start = float(packet.pts * packet.time_base) - self._origin
            if start >= seconds:
                self._pending = packet
                break
            self._mux(packet, start)

    def _mux(self, packet: Any, start: float) -> None:
        if self._copy:
            shift = round(self._origin / packet.time_base)
            packet.pts -= shift
            packet.dts = packet.dts - shift if packet.dts is not None else None
            packet.stream = self._out
            self._output.mux(packet)
            return
        for frame in packet.decode():
            rate = frame.sample_rate
            if self._next_sample is None:
                self._next_sample = round(start * rate)
            frame.pts = self._next_sample
            frame.time_base = Fraction(1, rate)
            self._next_sample += frame.samples
            self._output.mux(self._out.encode(frame))

    def finish(self, seconds: float) -> None:
        """Mux the audio up to ``seconds`` (the end of the video), flush, close the input."""
        if self._packets is None:
            return
        self.mux_until(seconds)
        self._done = True
        if not self._copy:
            self._output.mux(self._out.encode(None))
        self._input.close()
        self._packets = None
