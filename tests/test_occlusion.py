"""Occlusion: the synthetic hand, its ground truth, the hand tracker and the hand masks."""

import numpy as np
import pytest

from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.sources.synthetic.occluder import PERIOD_S
from swapcam.realtime.stages.align import align_matrix
from swapcam.realtime.stages.occlusion import HandOcclusion, OcclusionSettings, hand_mask, occluder_mask


@pytest.fixture(scope="module")
def video():
    return SyntheticVideo(SyntheticSettings(identity="bo", size="640x480", seed=5, occluder="hand"))


def test_synthetic_hand_comes_and_goes_with_its_mask(video):
    covered = [video.frame(i).occluder.sum() for i in range(0, int(PERIOD_S * 30), 15)]
    assert covered[0] == 0 and max(covered) > 5000 and covered[-1] == 0  # up, held, gone again
    first, again = video.frame(40), video.frame(40)
    np.testing.assert_array_equal(first.image, again.image)  # deterministic
    np.testing.assert_array_equal(first.occluder, again.occluder)
    plain = SyntheticVideo(SyntheticSettings(identity="bo", size="640x480", seed=5)).frame(40)
    changed = np.abs(first.image.astype(int) - plain.image.astype(int)).sum(2) > 30
    assert (changed & first.occluder).sum() > 0.8 * first.occluder.sum()  # the mask is where the hand is
    assert (changed & ~first.occluder).sum() < 0.05 * first.occluder.sum()
    assert plain.occluder is None


def test_hand_mask_covers_palm_fingers_and_forearm():
    # a hand pointing up: wrist at (50, 80), knuckles at y 50, fingertips at y 20
    points = np.zeros((21, 2), np.float32)
    points[0] = (50, 80)
    for finger, x in enumerate((30, 43, 56, 69)):
        base = 5 + 4 * finger
        points[base : base + 4] = [(x, 50), (x, 40), (x, 30), (x, 20)]
    points[1:5] = [(35, 72), (25, 64), (18, 58), (12, 52)]
    mask = hand_mask(points, 128)
    assert mask[65, 50] == 1.0 and mask[25, 43] == 1.0 and mask[100, 50] == 1.0  # palm, finger, forearm
    assert mask[10, 100] == 0.0 and mask[60, 100] == 0.0


def test_tracker_finds_the_synthetic_hand_and_masks_it_in_aligned_space(video):
    tracker = HandOcclusion()
    try:
        frames = [video.frame(i) for i in range(0, 60, 2)]
        found = [tracker(f.image) for f in frames]
    finally:
        tracker.close()
    with_hand = [k for k, f in enumerate(frames) if f.occluder.sum() > 3000]
    assert sum(bool(found[k]) for k in with_hand) >= 0.7 * len(with_hand)
    k = with_hand[len(with_hand) // 2]
    matrix = align_matrix(frames[k].landmarks, 128, 2.2)
    predicted = occluder_mask(found[k], matrix, 128)
    truth = cv2_warp(frames[k].occluder, matrix)
    overlap = (predicted > 0.5) & truth
    assert overlap.sum() > 0.7 * truth.sum() and overlap.sum() > 0.6 * (predicted > 0.5).sum()
    assert occluder_mask([], matrix, 128) is None


def cv2_warp(mask, matrix):
    import cv2

    return cv2.warpAffine(mask.astype(np.uint8), matrix, (128, 128), flags=cv2.INTER_NEAREST).astype(bool)


def test_a_hand_in_front_of_the_face_stays_in_front_with_hands_on(inverting_model_path, video):
    from benchmarks.quality_metrics import hull_mask
    from swapcam.realtime.run.config import LiveConfig
    from swapcam.realtime.run.live import LiveRun, run_live
    from swapcam.realtime.run.loop import PipelineSettings
    from swapcam.realtime.sinks.base import OutputSettings
    from swapcam.realtime.sources.base import CaptureSettings
    from swapcam.realtime.stages.blend import BlendSettings
    from swapcam.realtime.stages.color import ColorSettings

    frame = video.frame(45)
    region = frame.occluder & hull_mask(frame.landmarks, frame.image.shape)
    errors = {}
    for hands in (False, True):
        outputs = {}
        config = LiveConfig(
            capture=CaptureSettings(pace="every"),
            occlusion=OcclusionSettings(hands=hands),
            color=ColorSettings(mode="none"),
            blend=BlendSettings(mode="alpha"),
            output=OutputSettings(label=""),
            pipeline=PipelineSettings(max_frames=46),
        )
        run_live(
            LiveRun(
                "synthetic:identity=bo,seed=5,occluder=hand,size=640x480",
                inverting_model_path,
                "null",
                config,
                on_output=lambda r, out=outputs: out.setdefault(r.frame.index, r.image.copy()),
            ),
            log=lambda line: None,
        )
        errors[hands] = np.abs(outputs[45].astype(int) - frame.image.astype(int))[region].mean()
    # the inverting model paints over the hand; with hands on, the hand shows (soft edge and the
    # tracker's slack aside)
    assert errors[False] > 25 and errors[True] < 0.25 * errors[False]


def test_with_no_hand_in_view_hands_are_looked_for_every_few_frames_and_a_found_one_every_frame(video):
    from swapcam.realtime.stages.base import FrameWork, StageContext
    from swapcam.realtime.stages.occlusion import OcclusionStage

    class Context(StageContext):
        def __init__(self):
            self.still_images = False

    stage = OcclusionStage(OcclusionSettings(hand_search_every=3), Context())
    try:
        no_hand = [k for k in range(0, 60) if not video.frame(k).occluder.any()][:9]
        pending = []
        for k in no_hand:
            work = FrameWork(video.frame(k).image, k / 30)
            stage.on_frame(work)
            pending.append(work.in_front)
        assert [p is not None for p in pending] == [True, False, False] * 3
        assert stage.searches == 3 and all(p.mask(np.eye(2, 3), 64) is None for p in pending if p is not None)
        # a hand up in front of the face: found, then followed in every frame while it stays
        up = [k for k in range(0, int(PERIOD_S * 30)) if video.frame(k).occluder.sum() > 3000][5:11]
        searched_before = stage.searches
        for k in up:
            work = FrameWork(video.frame(k).image, k / 30)
            stage.on_frame(work)
        assert stage.searches - searched_before >= len(up) - 2
    finally:
        stage.close()
