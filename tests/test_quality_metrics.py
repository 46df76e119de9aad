"""The quality benchmark's measures on constructed cases whose right answer is known."""

import cv2
import numpy as np
import pytest

from benchmarks import quality_metrics as qm
from swapcam.export.identity import identity_share
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.landmarks import (
    LEFT_EYE,
    MOUTH_INNER,
    MOUTH_OPENING_PAIR,
    RIGHT_EYE,
    inter_ocular,
    mouth_opening,
)


@pytest.fixture(scope="module")
def clip():
    """Eight frames of a talking synthetic face (mouth opening and closing) and its true landmarks."""
    video = SyntheticVideo(SyntheticSettings(identity="ada", size="320x240", seed=3, noise=0.5))
    frames = [
        video.render((4.0 * np.sin(t), 0.0, 0.0), {"mouth_open": 0.5 + 0.5 * np.sin(t), "blink": 0.0}, t)
        for t in range(8)
    ]
    return [f.image for f in frames], [f.landmarks for f in frames]


def test_identical_videos_score_perfectly(clip):
    images, landmarks = clip
    scores = qm.score_sequence(images, images, landmarks, landmarks, fidelity=True)
    assert scores["psnr_db"] == qm.PSNR_CAP and scores["ssim"] == pytest.approx(1.0)
    assert scores["landmark_error"] == 0.0 and scores["mouth_r"] == pytest.approx(1.0)
    assert scores["seam_delta_e"] == 0.0 and scores["flicker"] == pytest.approx(1.0)
    assert scores["output_face_found"] == 1.0


def test_a_blurred_face_lowers_psnr_and_ssim(clip):
    images, landmarks = clip
    blurred = [cv2.GaussianBlur(i, (0, 0), 2.0) for i in images]
    scores = qm.score_sequence(images, blurred, landmarks, landmarks, fidelity=True)
    assert 20.0 < scores["psnr_db"] < 40.0 and scores["ssim"] < 0.95
    sharper = qm.score_sequence(
        images, [cv2.GaussianBlur(i, (0, 0), 0.7) for i in images], landmarks, landmarks, fidelity=True
    )
    assert sharper["psnr_db"] > scores["psnr_db"] + 3 and sharper["ssim"] > scores["ssim"]


def _lab(bgr):
    return cv2.cvtColor(np.float32([[bgr]]) / 255, cv2.COLOR_BGR2Lab)[0, 0]


def test_a_pasted_patch_with_a_colour_offset_raises_the_seam(clip):
    images, landmarks = clip
    image, points = images[0], landmarks[0]
    feather = cv2.GaussianBlur(qm.hull_mask(points, image.shape).astype(np.float32), (0, 0), 2.0)[..., None]
    offset = np.array([0.0, 12.0, 20.0])  # warmer face
    pasted = np.clip(image + feather * offset, 0, 255).astype(np.uint8)
    seam = qm.seam_delta_e(image, pasted, points)
    grey = np.full((1, 1, 3), 128.0)
    expected = np.linalg.norm(_lab(grey[0, 0] + offset) - _lab(grey[0, 0]))
    assert 0.4 * expected < seam < 1.3 * expected
    centre = np.zeros(image.shape[:2], np.float32)  # the same change deep inside the face: no seam
    cv2.circle(centre, tuple(int(v) for v in points.mean(0)), int(0.3 * inter_ocular(points)), 1.0, -1)
    inner = np.clip(image + centre[..., None] * offset, 0, 255).astype(np.uint8)
    assert qm.seam_delta_e(image, inner, points) < 0.05 * seam
    assert qm.seam_delta_e(image, image, points) == 0.0


def test_a_frozen_mouth_lowers_the_mouth_correlation(clip):
    images, landmarks = clip
    rng = np.random.default_rng(0)
    frozen = []
    for points in landmarks:
        moved = points.copy()
        moved[MOUTH_INNER] = landmarks[0][MOUTH_INNER] + rng.normal(0, 0.3, (len(MOUTH_INNER), 2))
        frozen.append(moved)
    assert np.ptp([mouth_opening(p) for p in landmarks]) > 0.1  # the input really talks
    scores = qm.score_sequence(images, images, landmarks, frozen)
    assert abs(scores["mouth_r"]) < 0.6 and scores["landmark_error"] > 0
    assert scores["eye_r"] == pytest.approx(1.0)


def test_landmark_error_is_in_inter_ocular_distances(clip):
    _, landmarks = clip
    shifted = landmarks[0] + np.array([0.1 * inter_ocular(landmarks[0]), 0.0], np.float32)
    assert qm.landmark_error(landmarks[0], shifted) == pytest.approx(0.1, rel=1e-4)
    assert set(MOUTH_OPENING_PAIR) <= set(MOUTH_INNER)


def test_flicker_above_one_when_added_below_one_when_frozen(clip):
    images, landmarks = clip
    rng = np.random.default_rng(1)
    noisy = [np.clip(i + rng.normal(0, 12, i.shape), 0, 255).astype(np.uint8) for i in images]
    masks = [qm.hull_mask(p, images[0].shape) for p in landmarks]
    assert qm.flicker_ratio(images, noisy, masks) > 1.5
    assert qm.flicker_ratio(images, [images[0]] * len(images), masks) == 0.0


def test_colour_jitter_counts_the_face_colour_moving_more_than_the_camera(clip):
    images, landmarks = clip
    masks = [qm.hull_mask(p, images[0].shape) for p in landmarks]
    assert qm.color_jitter(images, images, masks) == pytest.approx(1.0)
    flashing = [np.clip(i.astype(int) + (8 if t % 2 else -8), 0, 255).astype(np.uint8) for t, i in enumerate(images)]
    assert qm.color_jitter(images, flashing, masks) > 3.0


def test_correlation_is_nan_for_a_constant_series():
    assert np.isnan(qm.correlation([1, 1, 1, 1], [1, 2, 3, 4]))
    assert qm.correlation([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)


def test_identity_share_counts_frames_nearer_the_source():
    source, camera = np.zeros(4), np.ones(4)
    outputs = np.array([[0.1, 0, 0, 0], [0.9, 1, 1, 1], [0.2, 0.1, 0, 0]])
    share, to_source, to_camera = identity_share(outputs, source, np.tile(camera, (3, 1)))
    assert share == pytest.approx(2 / 3) and to_source < to_camera


def test_dlib_descriptor_tells_two_synthetic_people_apart():
    identity = pytest.importorskip("swapcam.export.identity")
    if not identity.available():
        pytest.skip("dlib and face-recognition-models are not installed (the identity extra)")
    describer = identity.FaceDescriber()
    frames = {
        name: [SyntheticVideo(SyntheticSettings(identity=name, size="320x240", seed=1)).frame(i) for i in (0, 30)]
        for name in ("ada", "bo")
    }
    ada = [describer.describe(f.image, f.landmarks) for f in frames["ada"]]
    bo = describer.describe(frames["bo"][0].image, frames["bo"][0].landmarks)
    assert ada[0].shape == (128,)
    assert np.linalg.norm(ada[0] - ada[1]) < 0.4 < np.linalg.norm(ada[0] - bo)


def test_sharpness_is_one_for_the_input_and_low_for_a_blurred_face(clip):
    images, landmarks = clip
    same = qm.score_sequence(images, images, landmarks, landmarks)
    assert same["sharpness_face"] == pytest.approx(1.0) and same["sharpness_eyes"] == pytest.approx(1.0)
    blurred = qm.score_sequence(images, [cv2.GaussianBlur(i, (0, 0), 2.0) for i in images], landmarks, landmarks)
    assert blurred["sharpness_face"] < 0.5 and blurred["sharpness_eyes"] < 0.5
    slightly = qm.score_sequence(images, [cv2.GaussianBlur(i, (0, 0), 0.7) for i in images], landmarks, landmarks)
    assert blurred["sharpness_face"] < slightly["sharpness_face"] < 1.0


def test_sharpness_of_the_eyes_sees_blurred_eyes_alone(clip):
    images, landmarks = clip
    outputs = []
    for image, points in zip(images, landmarks, strict=True):
        eyes = np.zeros(image.shape[:2], np.uint8)
        for eye in (RIGHT_EYE, LEFT_EYE):
            cv2.fillConvexPoly(eyes, cv2.convexHull(np.round(points[eye]).astype(np.int32)), 1)
        eyes = cv2.dilate(eyes, np.ones((9, 9), np.uint8)).astype(bool)
        smudged = image.copy()
        smudged[eyes] = cv2.GaussianBlur(image, (0, 0), 2.0)[eyes]
        outputs.append(smudged)
    scores = qm.score_sequence(images, outputs, landmarks, landmarks)
    assert scores["sharpness_eyes"] < 0.6 < scores["sharpness_face"]


def test_sharpness_does_not_depend_on_the_frame_scale(clip):
    images, landmarks = clip
    blurred = [cv2.GaussianBlur(i, (0, 0), 1.0) for i in images]
    small = qm.sharpness_ratios(
        [qm.detail_energies(i, o, p) for i, o, p in zip(images, blurred, landmarks, strict=True)]
    )
    big = qm.sharpness_ratios(
        [
            qm.detail_energies(cv2.resize(i, None, fx=2, fy=2), cv2.resize(o, None, fx=2, fy=2), 2 * p + 0.5)
            for i, o, p in zip(images, blurred, landmarks, strict=True)
        ]
    )
    assert big["face"] == pytest.approx(small["face"], abs=0.1)
