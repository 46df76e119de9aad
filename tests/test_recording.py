"""Recording through PyAV: H.264 files every player opens, the input's sound in step, and a file that
stays playable however the run ends."""

import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from media_clips import beep_time, flash_and_beep, flash_time

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import PipelineSettings
from swapcam.realtime.sinks.base import OutputSettings, Stream
from swapcam.realtime.sinks.codecs import CODECS
from swapcam.realtime.sinks.kinds import open_sink
from swapcam.realtime.sinks.recording import frame_rate
from swapcam.realtime.sources.base import CaptureSettings, Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

FPS = 30


def decoded(path):
    """(frames as (H, W, 3) BGR arrays, their presentation times) of a video file, decoded with PyAV."""
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return [f.to_ndarray(format="bgr24") for f in frames], [float(f.time) for f in frames]


@pytest.mark.parametrize("audio,suffix,note", [("aac", ".mp4", "aac copied"), ("pcm_s16le", ".mov", "re-encoded")])
def test_the_recording_carries_the_sound_in_step_with_the_picture(tmp_path, inverting_model_path, audio, suffix, note):
    """A white flash on frame 30 and a beep from 1.0 s: through run_live (every-frame pacing) they
    must still coincide, within a frame, when the output is decoded back."""
    clip, out = tmp_path / f"in{suffix}", tmp_path / "out.mp4"
    onset = flash_and_beep(clip, fps=FPS, frames=60, flash=30, audio=audio)
    assert abs(flash_time(clip) - onset) < 1e-3 and abs(beep_time(clip) - onset) < 1e-3  # the clip is right
    report = run_live(
        LiveRun(
            input=f"file:{clip}",
            model=inverting_model_path,
            output=f"file:{out}",
            config=LiveConfig(output=OutputSettings(label="")),
        ),
        log=lambda line: None,
    )
    assert note in report["outputs"][f"file:{out}"]["audio"]
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    offset = beep_time(out) - flash_time(out)
    assert abs(offset) <= 1 / FPS, f"audio {offset * 1e3:.1f} ms off the picture"
    assert abs(flash_time(out) - onset) <= 1 / FPS  # and both where they were in the input
    frames, times = decoded(out)
    assert len(frames) == 60 and times == sorted(times)


def test_a_run_stopped_early_cuts_the_sound_with_the_picture(tmp_path, inverting_model_path):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    flash_and_beep(clip, frames=60, flash=30)
    run_live(
        LiveRun(
            input=f"file:{clip}",
            model=inverting_model_path,
            output=f"file:{out}",
            config=LiveConfig(pipeline=PipelineSettings(max_frames=20)),
        ),
        log=lambda line: None,
    )
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio=0)) / audio.sample_rate
    assert abs(seconds - 20 / FPS) <= 1 / FPS  # not the clip's 2 s


def test_live_pacing_records_no_sound_and_says_so(tmp_path, inverting_model_path):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    flash_and_beep(clip, frames=20, flash=10)
    report = run_live(
        LiveRun(
            input=f"file:{clip}",
            model=inverting_model_path,
            output=f"file:{out}",
            config=LiveConfig(capture=CaptureSettings(pace="live")),
        ),
        log=lambda line: None,
    )
    assert report["outputs"][f"file:{out}"]["audio"].startswith("not carried: live pacing")
    with av.open(str(out)) as container:
        assert not container.streams.audio and container.streams.video


def test_a_recording_closed_early_is_a_playable_file(tmp_path):
    out = tmp_path / "early.mp4"
    sink = open_sink(f"file:{out}", Stream(96, 64, FPS), OutputSettings())
    colours = [40, 200, 120]
    for i, value in enumerate(colours):
        sink.write(np.full((64, 96, 3), value, np.uint8), Frame(i, None, 0.0, i / FPS))
    sink.close()
    sink.close()  # closing twice (the run's finally after an error) is harmless
    frames, times = decoded(out)
    assert [round(float(f.mean())) for f in frames] == pytest.approx(colours, abs=3)
    assert times == pytest.approx([0, 1 / FPS, 2 / FPS])


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl-C is a console event on Windows, not SIGINT")
@pytest.mark.parametrize("signum,reason", [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_ctrl_c_or_sigterm_leaves_a_playable_recording_with_its_sound(tmp_path, inverting_model_path, signum, reason):
    """Stopped mid-run, the recording of a clip with sound has its index (moov) and both streams,
    the sound closed where the picture ends; the run says why it stopped and exits 0."""
    clip, out = tmp_path / "in.mp4", tmp_path / "stopped.mp4"
    flash_and_beep(clip, frames=1800, flash=900)  # a minute: far longer than the run is let go on
    process = subprocess.Popen(
        [sys.executable, "-m", "swapcam.realtime.cli", "live", "--input", f"file:{clip}",
         "--model", str(inverting_model_path), "--output", f"file:{out}"],
        stderr=subprocess.PIPE, text=True,
        # a test run started in the background (`pytest &` in a script) ignores SIGINT, and children
        # inherit that: give the child Python's own Ctrl-C handling back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        for line in process.stderr:  # streaming has started once the run prints its route
            if "→ file:" in line:
                break
        time.sleep(1.0)
        process.send_signal(signum)
        rest = process.communicate(timeout=60)[1]
    finally:
        process.kill()
    assert process.returncode == 0 and f"stopping ({reason})" in rest and "Traceback" not in rest, rest
    frames, times = decoded(out)
    assert 10 <= len(frames) < 1800 and frames[0].shape == (120, 160, 3)  # stopped part-way, every frame whole
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio=0)) / audio.sample_rate
    assert abs(seconds - (times[-1] + 1 / FPS)) <= 1 / FPS  # the sound ends with the picture


def synthetic_second(size=(320, 240)):
    video = SyntheticVideo(SyntheticSettings(size=f"{size[0]}x{size[1]}", seed=2))
    return [video.frame(i).image for i in range(FPS)]


@pytest.mark.parametrize("codec", CODECS.names())
def test_every_codec_writes_a_file_that_decodes(tmp_path, codec):
    images = synthetic_second()
    out = tmp_path / f"o{CODECS.get(codec).suffixes[0]}"
    sink = open_sink(f"file:{out}", Stream(320, 240, FPS), OutputSettings(codec=codec))
    for i, image in enumerate(images):
        sink.write(image, Frame(i, image, 0.0, i / FPS))
    sink.close()
    frames, _ = decoded(out)
    assert len(frames) == FPS
    # lossy, but the picture: mean error a few grey levels
    assert np.abs(frames[15].astype(int) - images[15].astype(int)).mean() < 4


def test_h264_is_smaller_than_mpeg4_and_bitrate_sets_the_size(tmp_path):
    images = synthetic_second((640, 360))
    sizes = {}
    for name, settings in {
        "h264": OutputSettings(),
        "mpeg4": OutputSettings(codec="mpeg4"),
        "h264_200k": OutputSettings(bitrate=200),
    }.items():
        out = tmp_path / f"{name}.mp4"
        sink = open_sink(f"file:{out}", Stream(640, 360, FPS, live=False), settings)  # offline presets
        for i, image in enumerate(images):
            sink.write(image, Frame(i, image, 0.0, i / FPS))
        sink.close()
        sizes[name] = os.path.getsize(out)
    assert sizes["h264"] < sizes["mpeg4"] / 2
    assert sizes["h264_200k"] < 200_000 / 8 * 1.5  # a second at 200 kbit/s, give or take the rate control


def test_h264_keeps_up_in_live_pacing_and_compresses_harder_offline(tmp_path):
    """veryfast frame by frame; in live pacing ultrafast, whose third of the CPU keeps the stream's
    frame rate on two cores (see realtime/sinks/recording.py)."""
    presets = {}
    for live in (True, False):
        sink = open_sink(f"file:{tmp_path}/{live}.mp4", Stream(64, 48, FPS, live=live), OutputSettings())
        presets[live] = sink.video.options["preset"]
        sink.close()
    assert presets == {True: "ultrafast", False: "veryfast"}


def test_odd_frame_sizes_are_padded_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    sink = open_sink(f"file:{out}", Stream(63, 47, FPS), OutputSettings())
    sink.write(np.full((47, 63, 3), 150, np.uint8), Frame(0, None, 0.0, 0.0))
    sink.close()
    frames, _ = decoded(out)
    assert frames[0].shape == (48, 64, 3) and abs(float(frames[0][:47, :63].mean()) - 150) < 3


@pytest.mark.parametrize(
    "name,settings,message",
    [
        ("o.avi", OutputSettings(), "use a .mp4 or .mov or .mkv name or --codec mpeg4 or mjpeg"),
        ("o.webm", OutputSettings(), "a .mp4 name"),
        ("o.mp4", OutputSettings(codec="mjpeg"), "--codec h264 or mpeg4"),
    ],
)
def test_a_codec_the_file_cannot_hold_is_a_one_line_error(tmp_path, name, settings, message):
    with pytest.raises(UserError, match=message):
        open_sink(f"file:{tmp_path / name}", Stream(64, 48, FPS), settings)


def test_recording_the_input_onto_itself_is_refused(tmp_path):
    clip = tmp_path / "in.mp4"
    flash_and_beep(clip, frames=2, flash=1)
    with pytest.raises(UserError, match="is the input"):
        open_sink(f"file:{clip}", Stream(64, 48, FPS, live=False, source=clip), OutputSettings())


def test_frame_rate_is_the_exact_fraction():
    assert frame_rate(30.0) == 30 and frame_rate(30000 / 1001) == pytest.approx(29.97, abs=0.01)
    assert frame_rate(30000 / 1001).denominator == 1001
