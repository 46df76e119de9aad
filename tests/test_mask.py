import numpy as np
import pytest

from swapcam.realtime.stages.mask import MaskBuilder, MaskSettings, hull_mask, polygon_mask, refine_mask


def square(size, lo, hi):
    return np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], np.float32)


def test_hull_mask_fills_the_polygon():
    mask = hull_mask(square(64, 16, 47), 64)
    assert mask.dtype == np.float32 and mask[32, 32] == 1.0 and mask[5, 5] == 0.0
    assert mask.sum() == pytest.approx(32 * 32, rel=0.08)


def test_erode_shrinks_dilate_grows_blur_feathers():
    base = np.zeros((64, 64), np.float32)
    base[16:48, 16:48] = 1
    assert refine_mask(base, 4, 0).sum() < base.sum() < refine_mask(base, -4, 0).sum()
    feathered = refine_mask(base, 0, 6)
    edge = feathered[32, 10:22]
    assert np.all(np.diff(edge) >= -1e-6) and 0 < edge[5] < 1  # a ramp, not a step
    assert feathered[:8].max() == 0.0  # nothing bleeds far outside the square


def test_builder_multiplies_masks_and_applies_opacity():
    size = 64
    face_mask = np.ones((size, size), np.float32)
    celeb_mask = np.zeros((size, size), np.float32)
    celeb_mask[:, :32] = 1
    landmarks = np.zeros((468, 2), np.float32)
    landmarks[:] = (32, 32)
    from swapcam.realtime.stages.landmarks import FACE_OVAL

    ring = np.stack(
        [
            32 + 24 * np.cos(np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)),
            32 + 24 * np.sin(np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)),
        ],
        1,
    )
    landmarks[FACE_OVAL] = ring
    builder = MaskBuilder(MaskSettings(erode=0.0, blur=0.0, opacity=0.5), size)
    masks = builder(face_mask, celeb_mask, landmarks)
    alpha = masks.alpha
    assert masks.face[32, 20] == 1.0 and masks.skin[32, 20] == 1.0  # the opacity is the blend's alone
    assert alpha[32, 20] == pytest.approx(0.5)  # inside hull, celeb mask 1
    assert alpha[32, 44] == 0.0  # celeb mask 0
    assert alpha[2, 2] == 0.0  # outside the hull


def test_polygon_mask_fills_a_concave_outline():
    points = np.array([[8, 8], [56, 8], [56, 56], [32, 24], [8, 56]], np.float32)  # a notch at the bottom
    mask = polygon_mask(points, 64)
    assert mask[16, 32] == 1.0 and mask[50, 32] == 0.0 and mask[50, 12] == 1.0


def test_keep_mouth_and_eyes_cut_them_out_of_the_blend_mask_only(aligned_face):
    from swapcam.realtime.stages.landmarks import LEFT_EYE, MOUTH_INNER

    size = 128
    landmarks = aligned_face
    ones = np.ones((size, size), np.float32)
    mouth_x, mouth_y = landmarks[MOUTH_INNER].mean(0).round().astype(int)
    eye_x, eye_y = landmarks[LEFT_EYE].mean(0).round().astype(int)
    cheek_x, cheek_y = ((landmarks[MOUTH_INNER].mean(0) + landmarks[LEFT_EYE].mean(0)) / 2 + (12, 0)).astype(int)
    plain = MaskBuilder(MaskSettings(keep_mouth=0.0, keep_eyes=0.0), size)(ones, ones, landmarks)
    assert plain.alpha[mouth_y, mouth_x] == pytest.approx(1.0) and plain.alpha[eye_y, eye_x] == pytest.approx(1.0)
    assert plain.skin[mouth_y, mouth_x] < 0.05 and plain.skin[eye_y, eye_x] < 0.05  # colour ignores them
    kept = MaskBuilder(MaskSettings(keep_mouth=1.0, keep_eyes=0.5), size)(ones, ones, landmarks)
    assert kept.alpha[mouth_y, mouth_x] < 0.05 and kept.alpha[eye_y, eye_x] == pytest.approx(0.5, abs=0.05)
    assert kept.alpha[cheek_y, cheek_x] == pytest.approx(1.0) and kept.face[mouth_y, mouth_x] == pytest.approx(1.0)
