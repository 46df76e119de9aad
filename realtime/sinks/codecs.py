"""The video codecs file outputs can write, each with its encoder options."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.registry import Registry


@dataclass(frozen=True)
class VideoCodec:
    """``encoder``: FFmpeg's name; ``suffixes``: file names it is written in (the first is the
    usual one); ``options``: encoder options at constant quality (``bitrate`` 0); ``quantiser``: the
    fixed quantiser of encoders without a CRF (2 best … 31 worst); ``live_options``: the options in
    live pacing, where the encoder shares the CPU with the stream (None: the same); ``about``: for
    --help."""

    encoder: str
    suffixes: tuple[str, ...]
    pix_fmt: str
    about: str
    options: tuple[tuple[str, str], ...] = ()
    quantiser: int | None = None
    live_options: tuple[tuple[str, str], ...] | None = None


CODECS: Registry[VideoCodec] = Registry("video codec")

CODECS.register("h264")(
    VideoCodec(
        "libx264",
        (".mp4", ".mov", ".mkv"),
        "yuv420p",
        "H.264 at CRF 21 (preset veryfast; ultrafast in live pacing), small files every player opens",
        (("crf", "21"), ("preset", "veryfast")),
        live_options=(("crf", "21"), ("preset", "ultrafast")),
    )
)
CODECS.register("mpeg4")(
    VideoCodec("mpeg4", (".mp4", ".avi", ".mov", ".mkv"), "yuv420p", "MPEG-4 part 2 (OpenCV's mp4v)", quantiser=3)
)
CODECS.register("mjpeg")(
    VideoCodec("mjpeg", (".avi", ".mov", ".mkv"), "yuvj420p", "Motion JPEG, every frame a JPEG (editing)", quantiser=3)
)


def codec_help() -> str:
    return "; ".join(f"{name}: {CODECS.get(name).about} ({', '.join(CODECS.get(name).suffixes)})" for name in CODECS)
