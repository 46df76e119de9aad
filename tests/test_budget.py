"""The frame budget: optional work shed in the declared order when frames take too long, back when
there is room, in place where a stage's trackers must stay; off for frame-by-frame inputs and with
--no-shed."""

import json

import numpy as np
import pytest

from swapcam.realtime.cli import main
from swapcam.realtime.run.budget import SHEDS, BudgetSettings, FrameBudget, shed_config
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import build_processor
from swapcam.realtime.run.processor import Processed
from swapcam.realtime.run.retune import LiveControl, Retuner
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.base import StageContext
from swapcam.realtime.stages.blend import BlendSettings
from swapcam.realtime.stages.detect import DetectSettings
from swapcam.realtime.stages.swap import Swapper, SwapSettings

FRAME = Frame(0, np.zeros((4, 4, 3), np.uint8), 0.0, 0.0)


def test_the_steps_change_their_sections_in_order_and_skip_what_is_already_cheap():
    config = LiveConfig()
    assert shed_config(config, ()) is config
    shed = shed_config(config, tuple(SHEDS))
    assert shed.occlusion.hands is False and shed.occlusion.hand_search_every == 10  # two steps, one section
    assert shed.blend.mode == "alpha" and shed.swap.render_every == 2
    assert shed.detect == config.detect  # one face asked for: no search to shed
    assert shed.mask == config.mask and shed.color == config.color
    cheap = LiveConfig(blend=BlendSettings(mode="alpha"), detect=DetectSettings(max_faces=4))
    assert shed_config(cheap, ("alpha-blend",)) is cheap
    assert shed_config(cheap, ("face-search",)).detect.face_search_every == 30


class Clock:
    """Feeds a FrameBudget windows of frames of a given load and drops; records its log."""

    def __init__(self, config=LiveConfig(), budget_ms=0.0, overlap=True):
        self.lines: list[str] = []
        self.budget = FrameBudget(
            BudgetSettings(budget_ms=budget_ms), 1000 / 30, overlap, lambda: config, self.lines.append
        )
        self.dropped = 0
        assert self.window(100.0, dropped=5) == ()  # the first second is start-up: not judged

    def window(self, front_ms, back_ms=1.0, dropped=0, write_ms=1.0):
        self.dropped += dropped
        for _ in range(self.budget.window - dropped):
            result = Processed(FRAME, FRAME.image, 1, work_ms=(front_ms, back_ms), shed=self.budget.shed)
            self.budget.observe(result, write_ms, self.dropped)
        return self.budget.shed


def test_over_budget_sheds_one_step_a_window_in_the_declared_order_then_nothing_more():
    clock = Clock()
    assert clock.budget.window == 30
    assert clock.window(20.0) == ()  # within budget: nothing shed
    assert clock.window(50.0) == ("hand-search",)
    assert clock.window(50.0) == ("hand-search",)  # the window after a change is not judged
    assert clock.window(12.0, 45.0) == ("hand-search", "alpha-blend")  # the back half over budget too
    clock.window(45.0)
    assert clock.window(45.0) == ("hand-search", "alpha-blend", "render-every-2")  # face-search: nothing to shed
    clock.window(45.0)
    clock.window(45.0)
    clock.window(45.0)
    assert clock.window(45.0) == ("hand-search", "alpha-blend", "render-every-2", "hands-off")
    report = clock.budget.report()
    assert report["times_shed"] == dict.fromkeys(report["in_force_at_end"], 1)
    assert report["budget_ms"] == 33.33 and report["order"] == list(SHEDS)
    assert [e.get("shed") for e in report["events"]] == list(report["in_force_at_end"])
    assert "shedding hand-search (look for hands every 10 frames)" in clock.lines[0]
    assert "frames take 50.0 ms of 33.3" in clock.lines[0]


def test_dropped_frames_count_as_over_budget_even_when_the_median_frame_fits():
    clock = Clock()
    assert clock.window(20.0, dropped=1) == ()  # one drop with room to spare: noise
    assert clock.window(30.0, dropped=1) == ("hand-search",)  # one drop near the budget
    clock.window(10.0)
    assert clock.window(10.0, dropped=3) == ("hand-search", "alpha-blend")


def test_a_calm_stream_gets_the_last_step_back_unless_its_saving_would_not_fit():
    clock = Clock()
    clock.window(40.0)
    clock.window(40.0)  # settling
    clock.window(20.0)  # judged: hand-search saved 20 ms
    assert clock.budget.report()["saving_ms"] == {"hand-search": 20.0}
    for _ in range(10):
        clock.window(20.0)  # calm, but 20 + 20 ms would not leave a fifth of the budget free
    assert clock.budget.shed == ("hand-search",)
    for _ in range(4):
        clock.window(5.0)
    assert clock.budget.shed == ("hand-search",)  # five calm windows needed
    assert clock.window(5.0) == ()
    assert clock.budget.report()["events"][-1] == {
        "restored": "hand-search",
        "frame": 565,  # 19 windows of 30, less the 5 dropped at start-up
        "load_ms": 5.0,
        "dropped": 0,
    }


def test_a_step_shed_again_soon_after_coming_back_waits_twice_as_long_next_time():
    clock = Clock()

    def shed_and_calm(calm_windows):
        assert clock.window(40.0) == ("hand-search",)
        clock.window(40.0)  # settling
        clock.window(30.0)  # judged: saved 10 ms
        for _ in range(calm_windows - 1):
            clock.window(10.0)
        assert clock.budget.shed == ("hand-search",)
        assert clock.window(10.0) == ()
        clock.window(10.0)  # settling after the restore

    shed_and_calm(5)
    shed_and_calm(10)  # shed again one window after it came back
    clock.window(10.0)
    clock.window(10.0)
    shed_and_calm(10)  # three windows after: no relapse, the patience stays


def test_without_overlap_the_halves_add_up_and_a_set_budget_replaces_the_period():
    clock = Clock(overlap=False, budget_ms=50.0)
    assert clock.budget.window == 30  # a second of input frames
    assert clock.window(20.0, 25.0) == ()
    assert clock.window(30.0, 25.0) == ("hand-search",)


@pytest.fixture()
def tuned(inverting_model_path):
    context = StageContext(inverting_model_path, still_images=False, swapper=Swapper(inverting_model_path))
    config = LiveConfig(detect=DetectSettings(max_faces=2))
    processor = build_processor(config, context)
    control = LiveControl(config)
    budget = FrameBudget(BudgetSettings(), 1000 / 30, True, lambda: control.config, lambda line: None)
    video = SyntheticVideo(SyntheticSettings(size="320x240", seed=2, motion=0.0))
    yield (
        Retuner(processor, control, config, context, budget),
        budget,
        lambda i: Frame(i, video.frame(i).image, 0.0, i / 30),
    )
    processor.close()


def test_shedding_a_cadence_keeps_the_trackers_and_a_blend_change_rebuilds_only_the_blend(tuned):
    retuner, budget, frame = tuned
    retuner(frame(0), 320, 240)
    stages = dict(retuner.processor.stages)
    budget.shed = ("hand-search", "alpha-blend", "face-search")
    result = retuner(frame(1), 320, 240)
    assert result.faces_swapped == 1 and result.shed == budget.shed
    assert all(result.work_ms) and result.work_ms[1] > 0
    current = retuner.processor.stages
    assert current["occlusion"] is stages["occlusion"] and current["occlusion"].every == 10
    assert current["detect"] is stages["detect"] and current["detect"].detector._settings.face_search_every == 30
    assert current["blend"] is not stages["blend"] and current["blend"].blender.settings.mode == "alpha"
    assert {name for name in current if current[name] is not stages[name]} == {"blend"}
    budget.shed = ()
    retuner(frame(2), 320, 240)
    assert retuner.processor.stages["occlusion"].every == 3
    assert retuner.processor.stages["blend"].blender.settings.mode == "seamless"


def test_the_model_on_every_other_frame_reuses_its_rendering_in_between(tuned):
    retuner, budget, frame = tuned
    budget.shed = ("render-every-2",)
    assert retuner(frame(1), 320, 240).faces_swapped == 1  # rebuilt before this frame; the model ran
    stage = retuner.processor.stages["swap"]
    assert stage.every == 2 and stage.swapper is retuner.context.swapper  # the model was not loaded again
    model, calls = stage.swapper, []
    stage.swapper = lambda crop: calls.append(crop) or model(crop)
    results = [retuner(frame(i), 320, 240) for i in range(2, 7)]
    assert all(r.faces_swapped == 1 and r.fault is None for r in results)
    assert len(calls) == 2  # frames 3 and 5; 2, 4 and 6 showed the rendering before
    stage.no_face()
    retuner(frame(7), 320, 240)
    assert len(calls) == 3  # a face after none is rendered anew


def run(tmp_path, model, *flags):
    report = tmp_path / "report.json"
    args = ["live", "--model", str(model), "--input", "synthetic:size=320x240", "--output", "null"]
    code = main([*args, "--max-frames", "75", "--report", str(report), *flags])
    assert code == 0
    return json.loads(report.read_text())


def test_a_live_run_sheds_what_does_not_fit_and_reports_it(tmp_path, capfd, inverting_model_path):
    report = run(tmp_path, inverting_model_path, "--budget-ms", "0.5")  # nothing fits half a millisecond
    shed = report["shed"]
    assert shed["times_shed"]["hand-search"] == 1 and shed["frames_shed"]["hand-search"] > 0
    assert shed["in_force_at_end"][0] == "hand-search" and shed["budget_ms"] == 0.5
    err = capfd.readouterr().err
    assert "shedding hand-search" in err and "swapcam: shed (budget 0.5 ms): hand-search 1x" in err
    assert report["settings"]["budget"] == {"shed": True, "budget_ms": 0.5}
    assert report["settings"]["occlusion"]["hand_search_every"] == 3  # the user's settings, not the shed ones


def test_no_shed_and_frame_by_frame_inputs_have_no_budget(tmp_path, capfd, inverting_model_path):
    assert run(tmp_path, inverting_model_path, "--budget-ms", "0.5", "--no-shed")["shed"] is None
    assert run(tmp_path, inverting_model_path, "--budget-ms", "0.5", "--pace", "every")["shed"] is None
    assert "shed" not in capfd.readouterr().err


def test_a_shed_step_leaves_the_users_last_error_for_the_user_to_read(tuned):
    retuner, budget, frame = tuned
    retuner.control.update(lambda cfg: cfg.replace(swap=SwapSettings(provider="directml")))  # Windows only
    retuner(frame(0), 320, 240)
    error = retuner.control.error
    assert error is not None and error.startswith("swap: execution provider directml")
    budget.shed = ("hand-search",)
    retuner(frame(1), 320, 240)
    assert retuner.processor.stages["occlusion"].every == 10 and retuner.control.error == error
    retuner.control.update(lambda cfg: cfg.replace(swap=SwapSettings()))
    retuner(frame(2), 320, 240)
    assert retuner.control.error is None  # the user's next change clears it
