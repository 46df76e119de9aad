"""Settings handed to a running stream: the next frame is processed with the new settings, only the
changed stages are rebuilt, and a change that cannot apply never stops the stream."""

import numpy as np
import pytest

from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import build_processor
from swapcam.realtime.run.retune import LiveControl, Retuner, changed_sections
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.base import StageContext
from swapcam.realtime.stages.blend import BlendSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.mask import MaskSettings
from swapcam.realtime.stages.swap import Swapper, SwapSettings

START = LiveConfig(color=ColorSettings(mode="none"), blend=BlendSettings(mode="alpha"))


@pytest.fixture()
def tuned(inverting_model_path):
    """A Retuner around a real processor (inverting model), and a source of synthetic frames."""
    control = LiveControl(START)
    context = StageContext(inverting_model_path, still_images=False, swapper=Swapper(inverting_model_path))
    processor = build_processor(START, context, keep_original=True)
    video = SyntheticVideo(SyntheticSettings(size="320x240", seed=2, motion=0.0))

    def frame(i: int) -> Frame:
        return Frame(i, video.frame(i).image, 0.0, i / 30)

    yield Retuner(processor, control, START, context), control, frame
    processor.close()


def test_a_change_shows_from_the_next_frame_and_rebuilds_only_its_stage(tuned):
    retuner, control, frame = tuned
    before = retuner(frame(0), 320, 240)
    assert before.faces_swapped == 1
    assert np.abs(before.image.astype(int) - before.original).max() > 100  # the inverted face shows

    stages = dict(retuner.processor.stages)
    control.update(lambda cfg: cfg.replace(mask=MaskSettings(opacity=0.0)))
    after = retuner(frame(1), 320, 240)
    assert after.faces_swapped == 1
    assert np.abs(after.image.astype(int) - after.original).max() <= 1  # opacity 0: the camera frame
    rebuilt = {name for name, stage in retuner.processor.stages.items() if stage is not stages[name]}
    assert rebuilt == {"mask"}
    assert retuner.applied is control.config


def test_changed_sections_names_each_differing_section():
    changed = START.replace(mask=MaskSettings(blur=0.1), swap=SwapSettings(morph=0.5))
    assert changed_sections(START, changed) == ["swap", "mask"]
    assert changed_sections(START, START) == []


def test_a_change_that_cannot_apply_keeps_the_stream_and_says_why(tuned):
    retuner, control, frame = tuned
    swapper = retuner.processor.stages["swap"].swapper
    # DirectML exists only on Windows: the rebuild fails here
    control.update(lambda cfg: cfg.replace(swap=SwapSettings(provider="directml")))
    result = retuner(frame(0), 320, 240)
    assert result.faces_swapped == 1 and result.fault is None
    assert retuner.processor.stages["swap"].swapper is swapper
    assert control.error is not None and control.error.startswith("swap: execution provider directml")


def test_a_bad_change_publishes_nothing():
    control = LiveControl(START)

    def bad(cfg):
        return cfg.replace(mask=MaskSettings(opacity=2.0))

    with pytest.raises(Exception, match="--opacity 2.0 is out of range"):
        control.update(bad)
    assert control.config is START
