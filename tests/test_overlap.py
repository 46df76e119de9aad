"""Both cores: the front half of the next frame runs beside the back half of this one, and settings
changed meanwhile reach each half between two of its frames."""

import threading

import numpy as np
from test_pipeline import ListSink, ScriptedSource

from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import build_processor
from swapcam.realtime.run.loop import Pipeline, PipelineSettings
from swapcam.realtime.run.processor import Fronted, Processed
from swapcam.realtime.run.retune import LiveControl, Retuner
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.base import StageContext
from swapcam.realtime.stages.blend import BlendSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.mask import MaskSettings
from swapcam.realtime.stages.swap import Swapper


class Handshake:
    """Halves whose back of frame 0 waits until the front of frame 1 has begun: that can only happen
    when the halves run on two threads at once (one thread would wait for itself and time out)."""

    def __init__(self):
        self.front_of_1 = threading.Event()
        self.threads: dict[str, set[str]] = {"front": set(), "back": set()}
        self.overlapped = False

    def front(self, frame, width, height):
        self.threads["front"].add(threading.current_thread().name)
        if frame.index == 1:
            self.front_of_1.set()
        return Fronted(frame, width, height, clock=None, work=None, fault="bad_frame")  # type: ignore[arg-type]

    def back(self, fronted):
        self.threads["back"].add(threading.current_thread().name)
        if fronted.frame.index == 0:
            self.overlapped = self.front_of_1.wait(timeout=2.0)
        return Processed(fronted.frame, fronted.frame.image, 1)

    def __call__(self, frame, width, height):
        return self.back(self.front(frame, width, height))


def _frames(count):
    return [np.full((36, 64, 3), i, np.uint8) for i in range(count)]


def test_the_front_of_the_next_frame_runs_beside_the_back_of_this_one():
    halves, sink = Handshake(), ListSink()
    stats = Pipeline(ScriptedSource(_frames(4)), halves, sink, 64, 36).run()
    assert halves.overlapped and stats.frames == 4 and len(sink.frames) == 4
    assert halves.threads == {"front": {"front"}, "back": {"back"}}
    assert [int(f[0, 0, 0]) for f in sink.frames] == [0, 1, 2, 3]  # in order, none lost


def test_without_overlap_one_thread_runs_both_halves():
    halves = Handshake()
    Pipeline(ScriptedSource(_frames(3)), halves, ListSink(), 64, 36, PipelineSettings(overlap=False)).run()
    assert not halves.overlapped  # frame 1's front could not start while frame 0's back waited
    assert halves.threads["front"] == halves.threads["back"] == {"process"}


def test_a_change_reaches_the_back_with_the_first_frame_the_front_took_after_it(inverting_model_path):
    start = LiveConfig(color=ColorSettings(mode="none"), blend=BlendSettings(mode="alpha"))
    context = StageContext(inverting_model_path, still_images=False, swapper=Swapper(inverting_model_path))
    processor = build_processor(start, context, keep_original=True)
    control = LiveControl(start)
    retuner = Retuner(processor, control, start, context)
    video = SyntheticVideo(SyntheticSettings(size="320x240", seed=2, motion=0.0))
    frames = [Frame(i, video.frame(i).image, 0.0, i / 30) for i in range(3)]
    try:
        first = retuner.front(frames[0], 320, 240)
        control.update(lambda cfg: cfg.replace(mask=MaskSettings(opacity=0.0)))
        second = retuner.front(frames[1], 320, 240)  # built with opacity 0, not yet in place
        old_mask = processor.stages["mask"]
        swapped = retuner.back(first)
        assert processor.stages["mask"] is old_mask  # frame 0 is still the old settings' whole
        assert np.abs(swapped.image.astype(int) - swapped.original).max() > 100
        unchanged = retuner.back(second)
        assert processor.stages["mask"] is not old_mask
        assert unchanged.faces_swapped == 1 and np.abs(unchanged.image.astype(int) - unchanged.original).max() <= 1
    finally:
        processor.close()
