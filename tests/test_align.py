import numpy as np
import pytest

from swapcam.realtime.stages.align import (
    ALIGN_INDICES,
    ALIGN_TEMPLATE,
    align_matrix,
    compose,
    invert,
    transform_points,
    umeyama,
)


def similarity(angle_deg, scale, tx, ty):
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]])


@pytest.mark.parametrize("angle,scale,tx,ty", [(0, 1, 0, 0), (30, 2.5, 10, -4), (-170, 0.3, 400, 250)])
def test_umeyama_recovers_a_known_similarity(angle, scale, tx, ty):
    rng = np.random.default_rng(0)
    src = rng.uniform(-50, 50, (40, 2))
    truth = similarity(angle, scale, tx, ty)
    dst = transform_points(truth, src).astype(np.float64)
    np.testing.assert_allclose(umeyama(src, dst), truth, atol=1e-4)


def test_umeyama_never_reflects():
    src = np.array([[0, 0], [3, 0], [0, 1], [1, 2.0]])
    mirrored = src * [-1, 1]
    matrix = umeyama(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0
    fitted = transform_points(matrix, src)
    assert np.abs(fitted - mirrored).max() > 0.5  # a mirror image cannot be matched without reflecting


def landmarks_from_template(matrix_template_to_frame):
    """468 landmarks whose alignment subset sits exactly on the template mapped into the frame."""
    points = np.full((468, 2), np.nan)
    points[ALIGN_INDICES] = transform_points(matrix_template_to_frame, ALIGN_TEMPLATE)
    return points


def test_align_matrix_places_template_centre_and_scale_by_coverage():
    to_frame = similarity(12, 300, 640, 360)  # template unit → frame pixels (face 300 px wide)
    landmarks = landmarks_from_template(to_frame)
    for coverage in (1.0, 2.2, 3.0):
        m = align_matrix(landmarks, 128, coverage)
        centre = transform_points(to_frame, np.array([[0.5, 0.5]]))
        np.testing.assert_allclose(transform_points(m, centre), [[63.5, 63.5]], atol=1e-3)
        # the template's 0..1 width becomes size/coverage crop pixels
        ends = transform_points(to_frame, np.array([[0.0, 0.5], [1.0, 0.5]]))
        crop_ends = transform_points(m, ends)
        assert np.linalg.norm(crop_ends[1] - crop_ends[0]) == pytest.approx(128 / coverage, rel=1e-4)
        # rotation removed: the template's horizontal stays horizontal
        assert abs(crop_ends[1, 1] - crop_ends[0, 1]) < 1e-3


def test_y_offset_moves_the_crop_down_the_face():
    landmarks = landmarks_from_template(similarity(0, 200, 300, 300))
    nose = landmarks[[1]]
    y_plain = transform_points(align_matrix(landmarks, 128, 2.0, 0.0), nose)[0, 1]
    y_down = transform_points(align_matrix(landmarks, 128, 2.0, 0.25), nose)[0, 1]
    assert y_down == pytest.approx(y_plain - 0.25 * 128 / 2.0, abs=1e-3)


def test_invert_and_compose_are_consistent():
    m = similarity(33, 1.7, 5, -9)
    np.testing.assert_allclose(compose(m, invert(m)), [[1, 0, 0], [0, 1, 0]], atol=1e-12)
