"""The synthetic camera: detectable by mediapipe, truthful landmarks, distinct people, determinism."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.sources.synthetic import (
    EXPRESSIONS,
    PRESET_NAMES,
    FaceTemplate,
    SyntheticSettings,
    SyntheticVideo,
)

SIZE = "640x360"  # detection and NME match 1280x720 (checked while developing) at a quarter of the cost
# The documented key landmarks: eye corners, lids, nose, mouth, chin, forehead, outline sides.
KEY_POINTS = [33, 133, 362, 263, 159, 145, 386, 374, 1, 2, 61, 291, 0, 17, 13, 14, 152, 10, 234, 454]
STABLE = [33, 133, 362, 263, 1, 61, 291, 152]


def sweep(k: int) -> tuple[tuple[float, float, float], dict[str, float]]:
    """Frame k of a smooth sweep through the full pose range (±30/±20/±20) and all expressions."""
    pose = (30 * np.sin(2 * np.pi * k / 100), 20 * np.sin(2 * np.pi * k / 77 + 1), 20 * np.sin(2 * np.pi * k / 59 + 2))
    expression = {
        "mouth_open": max(0.0, np.sin(2 * np.pi * k / 37)),
        "smile": max(0.0, np.sin(2 * np.pi * k / 53 + 1)),
        "blink": 1.0 if k % 40 in (10, 11) else 0.0,
        "brows_up": max(0.0, np.sin(2 * np.pi * k / 43 + 2)),
    }
    return pose, expression


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_mediapipe_tracks_every_preset_and_agrees_with_ground_truth(name):
    mp = pytest.importorskip("mediapipe")
    video = SyntheticVideo(SyntheticSettings(identity=name, size=SIZE))
    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.5
    )
    found, errors = 0, []
    with mesh:
        for k in range(300):
            frame = video.render(*sweep(k), index=k)
            result = mesh.process(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
            if not result.multi_face_landmarks:
                continue
            found += 1
            seen = np.array([[p.x * video.width, p.y * video.height] for p in result.multi_face_landmarks[0].landmark])
            iod = np.linalg.norm(frame.landmarks[33] - frame.landmarks[263])
            errors.append(np.linalg.norm(seen[KEY_POINTS] - frame.landmarks[KEY_POINTS], axis=1).mean() / iod)
    assert found / 300 >= 0.95, f"{name}: face found in {found}/300 frames"
    assert np.mean(errors) <= 0.10, f"{name}: normalised mean error {np.mean(errors):.3f}"


def _aligned_crop(frame, reference: np.ndarray) -> np.ndarray:
    # A huge RANSAC threshold keeps every point an inlier: a plain least-squares similarity.
    m, _ = cv2.estimateAffinePartial2D(frame.landmarks[STABLE], reference, ransacReprojThreshold=1e4)
    return cv2.warpAffine(frame.image, m, (128, 128)).astype(np.float32)


def test_identities_are_different_people():
    videos = {name: SyntheticVideo(SyntheticSettings(identity=name, size=SIZE)) for name in PRESET_NAMES}
    frontal = videos[PRESET_NAMES[0]].render((0, 0, 0), {}, 0).landmarks[STABLE]
    reference = ((frontal - frontal.mean(0)) / frontal.std() * 28 + [64, 70]).astype(np.float32)
    for pose, expression in (((10, 5, 0), {}), ((-20, -10, 8), {"smile": 0.7}), ((25, 12, -10), {"mouth_open": 0.6})):
        crops, within = {}, {}
        for name, video in videos.items():
            crops[name] = _aligned_crop(video.render(pose, expression, 3), reference)
            nearby = (pose[0] + 1.5, pose[1], pose[2])
            within[name] = np.abs(crops[name] - _aligned_crop(video.render(nearby, expression, 3), reference)).mean()
        for a, b in itertools.combinations(PRESET_NAMES, 2):
            between = np.abs(crops[a] - crops[b]).mean()
            assert between > 3 * max(within[a], within[b]), (a, b, pose, between, within[a], within[b])


def test_same_seed_same_frames_and_other_seed_other_frames():
    settings = SyntheticSettings(size="320x240", seed=5)
    a, b = SyntheticVideo(settings), SyntheticVideo(settings)
    for index in (0, 17, 400):
        fa, fb = a.frame(index), b.frame(index)
        assert np.array_equal(fa.image, fb.image)
        assert np.array_equal(fa.landmarks, fb.landmarks)
        assert fa.pose == fb.pose and fa.expression == fb.expression
    assert np.array_equal(a.frame(9).image, next(itertools.islice(iter(b), 9, None)).image)
    other = SyntheticVideo(settings.replace(seed=6)).frame(17)
    assert not np.array_equal(other.image, a.frame(17).image)
    assert other.pose != a.frame(17).pose


def test_random_identity_depends_on_seed():
    one = SyntheticVideo(SyntheticSettings(identity="random", seed=1, size="320x240", motion=0, noise=0))
    two = SyntheticVideo(SyntheticSettings(identity="random", seed=2, size="320x240", motion=0, noise=0))
    assert one.identity != two.identity
    assert np.abs(one.frame(0).image.astype(int) - two.frame(0).image.astype(int)).mean() > 5


def test_frame_contents():
    video = SyntheticVideo(SyntheticSettings(size="640x480"))
    assert (video.width, video.height, video.fps) == (640, 480, 30.0)
    frame = video.frame(3)
    assert frame.index == 3
    assert frame.image.shape == (480, 640, 3) and frame.image.dtype == np.uint8
    assert frame.landmarks.shape == (468, 2) and frame.landmarks.dtype == np.float32
    assert frame.pupils.shape == (2, 2) and frame.pupils.dtype == np.float32
    assert set(frame.expression) == set(EXPRESSIONS)
    assert all(0 <= v <= 1 for v in frame.expression.values())
    lm = frame.landmarks
    assert ((lm >= 0) & (lm < [640, 480])).all()
    # Person's right pupil lies between its eye corners 33 and 133, the left between 362 and 263.
    for pupil, (outer, inner) in zip(frame.pupils, ((33, 133), (263, 362)), strict=True):
        span = lm[inner] - lm[outer]
        t = np.dot(pupil - lm[outer], span) / np.dot(span, span)
        assert 0.1 < t < 0.9
    frontal = video.render((0, 0, 0), {}, 3)
    assert frontal.landmarks[33, 0] < frontal.landmarks[263, 0]  # person's right eye on the image left
    turned = video.render((20, 0, 0), {}, 3)  # yaw > 0: nose towards image right
    assert (
        turned.landmarks[1, 0] - turned.landmarks[[33, 263], 0].mean()
        > frontal.landmarks[1, 0] - frontal.landmarks[[33, 263], 0].mean() + 5
    )


def test_expressions_move_the_right_landmarks():
    video = SyntheticVideo(SyntheticSettings(size="640x480", noise=0))
    rest = video.render((0, 0, 0), {}, 0).landmarks
    opened = video.render((0, 0, 0), {"mouth_open": 1}, 0).landmarks
    assert opened[14, 1] - opened[13, 1] > rest[14, 1] - rest[13, 1] + 10
    smiling = video.render((0, 0, 0), {"smile": 1}, 0).landmarks
    assert smiling[291, 0] - smiling[61, 0] > rest[291, 0] - rest[61, 0] + 4
    assert smiling[61, 1] < rest[61, 1] - 3
    closed = video.render((0, 0, 0), {"blink": 1}, 0).landmarks
    assert abs(closed[145, 1] - closed[159, 1]) < 0.3 * abs(rest[145, 1] - rest[159, 1])
    raised = video.render((0, 0, 0), {"brows_up": 1}, 0).landmarks
    assert raised[105, 1] < rest[105, 1] - 4 and abs(raised[152, 1] - rest[152, 1]) < 0.5


def test_trajectory_covers_the_documented_range_smoothly():
    video = SyntheticVideo(SyntheticSettings(size="64x64"))
    poses, expressions = zip(*(video.pose_at(i) for i in range(0, 30 * 600)), strict=True)
    poses = np.array(poses)
    for axis, limit in enumerate((30.0, 20.0, 20.0)):
        assert np.abs(poses[:, axis]).max() <= limit
        assert poses[:, axis].max() >= 0.85 * limit and poses[:, axis].min() <= -0.85 * limit
    assert np.abs(np.diff(poses, axis=0)).max() < 2.5  # degrees per frame at 30 fps
    for name in EXPRESSIONS:
        values = np.array([e[name] for e in expressions])
        assert values.min() >= 0 and values.max() >= 0.8, name
    blinks = np.array([e["blink"] for e in expressions])
    assert 60 < (np.diff((blinks > 0.5).astype(int)) == 1).sum() < 200  # ~ one blink per 4 s
    still = SyntheticVideo(SyntheticSettings(size="64x64", motion=0, expressions=False))
    assert all(still.pose_at(i) == ((0.0, 0.0, 0.0), dict.fromkeys(EXPRESSIONS, 0.0)) for i in (0, 99, 1234))


def test_motion_blur_and_noise_options():
    base = SyntheticSettings(size="640x480", noise=0)
    video = SyntheticVideo(base)
    yaws = np.array([video.pose_at(i)[0][0] for i in range(300)])
    index = int(np.abs(np.diff(yaws)).argmax()) + 1  # the fastest head turn in the first 10 s
    sharp = video.frame(index).image
    blurred = SyntheticVideo(base.replace(motion_blur=True)).frame(index).image
    noisy = SyntheticVideo(base.replace(noise=2.0)).frame(index).image
    assert not np.array_equal(sharp, blurred)
    assert 1 < np.abs(noisy.astype(int) - sharp.astype(int)).mean() < 6


def test_from_spec():
    assert SyntheticSettings.from_spec("") == SyntheticSettings()
    s = SyntheticSettings.from_spec("identity=bo, seed=3,fps=25,size=640x480,motion_blur=yes,noise=0")
    assert (s.identity, s.seed, s.fps, s.width, s.height, s.motion_blur, s.noise) == (
        "bo",
        3,
        25.0,
        640,
        480,
        True,
        0.0,
    )
    assert SyntheticSettings.from_spec("identity=random").identity == "random"
    with pytest.raises(UserError, match="'colour'.*valid keys are identity, seed"):
        SyntheticSettings.from_spec("colour=red")
    with pytest.raises(UserError, match="seed"):
        SyntheticSettings.from_spec("seed=abc")
    with pytest.raises(UserError, match="expressions"):
        SyntheticSettings.from_spec("expressions=maybe")
    with pytest.raises(UserError, match="size"):
        SyntheticSettings.from_spec("size=640by480")
    with pytest.raises(UserError, match="fps"):
        SyntheticSettings.from_spec("fps=0")
    with pytest.raises(UserError, match="unknown synthetic identity 'zed'.*" + ", ".join(PRESET_NAMES[:3])):
        SyntheticSettings(identity="zed")


def test_presets_and_template():
    assert len(PRESET_NAMES) >= 8 and len(set(PRESET_NAMES)) == len(PRESET_NAMES)
    assert SyntheticSettings().identity == PRESET_NAMES[0]
    t = FaceTemplate.load()
    assert t.vertices.shape == (468, 3) and t.vertices.dtype == np.float32
    assert t.triangles.dtype == np.int32 and t.triangles.min() >= 0 and t.triangles.max() < 468
    assert np.isclose(np.linalg.norm(t.vertices[33] - t.vertices[263]), 1.0, atol=1e-3)
    # Outward orientation: in a frontal view nearly every triangle faces the camera.
    a, b, c = (t.vertices[t.triangles[:, k]] for k in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    assert (area < 0).mean() > 0.95
    assert len(t.oval) == 36 and t.eye_r_upper[0] == 33 and t.eye_l_upper[0] == 263
