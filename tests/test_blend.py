"""Blend stage: boundary matching and sharpening on constructed faces."""

import numpy as np
import pytest

from swapcam.realtime.stages.align import transform_points
from swapcam.realtime.stages.blend import Blender, BlendSettings, match_boundary, scale_offset_matrix, sharpen

R = 96


def disc_mask(feather=6.0):
    yy, xx = np.mgrid[0:R, 0:R]
    distance = np.hypot(xx - R / 2, yy - R / 2)
    return np.clip((0.35 * R - distance) / feather + 0.5, 0, 1).astype(np.float32)


def camera_and_face():
    """A camera face with a vertical light gradient, and a swapped face that is the camera face
    too warm by a constant plus a dark blob (a feature of its own) in the middle."""
    yy, xx = np.mgrid[0:R, 0:R] / R
    camera = np.stack([0.35 + 0.2 * yy, 0.45 + 0.2 * yy, 0.6 + 0.1 * xx], -1).astype(np.float32)
    blob = (np.hypot(xx - 0.5, yy - 0.5) < 0.08)[..., None] * np.float32(-0.25)
    face = np.clip(camera + np.float32([-0.08, 0.02, 0.12]) + blob, 0, 1).astype(np.float32)
    return camera, face, blob[..., 0] != 0


def test_seamless_removes_a_colour_offset_at_the_edge_and_keeps_the_features():
    camera, face, blob = camera_and_face()
    mask = disc_mask()
    out = match_boundary(face, camera, mask, sigma=0.1 * R)
    edge = (mask > 0.2) & (mask < 0.8)
    assert np.abs(face - camera)[edge].mean() > 0.07
    assert np.abs(out - camera)[edge].mean() < 0.01  # meets the camera at the edge
    assert np.abs(out - camera)[(mask > 0.99) & ~blob].mean() < 0.02  # a constant offset goes everywhere
    feature = (out - camera)[blob].mean(0) - (out - camera)[(mask > 0.99) & ~blob].mean(0)
    np.testing.assert_allclose(feature, -0.25, atol=0.03)  # the face's own feature stays
    assert out.dtype == np.float32 and out.shape == face.shape and 0 <= out.min() and out.max() <= 1


def test_seamless_without_a_feathered_edge_leaves_the_face():
    camera, face, _ = camera_and_face()
    hard = (disc_mask() > 0.5).astype(np.float32)
    assert match_boundary(face, camera, hard, 8.0) is face


def test_sharpen_adds_contrast_at_edges_only():
    face = np.zeros((R, R, 3), np.float32) + 0.3
    face[:, R // 2 :] = 0.7
    out = sharpen(face, 1.0)
    assert out[10, R // 2 - 1, 0] < 0.3 < 0.7 < out[10, R // 2, 0]  # overshoot on both sides of the step
    np.testing.assert_allclose(out[:, : R // 2 - 6], 0.3, atol=1e-6)  # flat regions untouched
    assert sharpen(face, 0.0) is face


def test_blender_applies_mode_then_sharpening():
    camera, face, _ = camera_and_face()
    mask = disc_mask()
    plain = Blender(BlendSettings(mode="alpha"), R)(face, camera, mask)
    assert plain is face
    seamless = Blender(BlendSettings(mode="seamless", seam_width=0.1, sharpen=0.5, seam_smoothing=0.0), R)(
        face, camera, mask
    )
    np.testing.assert_allclose(seamless, sharpen(match_boundary(face, camera, mask, 0.1 * R), 0.5), atol=1e-6)


def test_unknown_blend_mode_is_a_user_error():
    from swapcam.realtime.core.errors import UserError

    with pytest.raises(UserError, match="blend"):
        BlendSettings(mode="poisson")


def test_detail_mask_covers_skin_but_not_the_features(aligned_face):
    from swapcam.realtime.stages.landmarks import LEFT_BROW, LIPS, NOSE_TIP, RIGHT_EYE

    skin = np.ones((128, 128), np.float32)
    assert Blender(BlendSettings(), 128).detail_mask(skin, aligned_face) is None
    detail = Blender(BlendSettings(detail=0.6), 128).detail_mask(skin, aligned_face)
    for loop in (RIGHT_EYE, LEFT_BROW, LIPS, NOSE_TIP):
        x, y = aligned_face[loop].mean(0).round().astype(int)
        assert detail[y, x] < 0.01
    cheek = ((aligned_face[RIGHT_EYE].mean(0) + aligned_face[LIPS].mean(0)) / 2 - (14, 0)).round().astype(int)
    assert detail[cheek[1], cheek[0]] == pytest.approx(0.6, abs=0.02)


def test_seam_smoothing_damps_a_flickering_edge_and_restarts_after_reset():
    camera, face, _ = camera_and_face()
    mask = disc_mask()
    brighter = np.clip(camera + 0.08, 0, 1)
    edge = (mask > 0.2) & (mask < 0.8)
    per_frame = Blender(BlendSettings(mode="seamless", seam_smoothing=0.0), R)
    smooth = Blender(BlendSettings(mode="seamless", seam_smoothing=0.5), R)
    swings = {"raw": [], "smooth": []}
    for t in range(20):
        reference = camera if t % 2 else brighter
        swings["raw"].append(per_frame(face, reference, mask, None, t / 30)[edge].mean())
        swings["smooth"].append(smooth(face, reference, mask, None, t / 30)[edge].mean())
    raw, damped = (np.abs(np.diff(swings[k][-8:])).mean() for k in ("raw", "smooth"))
    assert raw > 0.05 and damped < 0.15 * raw
    smooth.reset()
    np.testing.assert_allclose(
        smooth(face, brighter, mask, None, 1.0)[edge], per_frame(face, brighter, mask, None, 1.0)[edge]
    )


def test_seamless_mutes_what_crosses_the_edge_but_is_not_skin():
    camera, face, blob = camera_and_face()
    mask = disc_mask()
    framed = camera.copy()
    framed[40:46, :] = 0.05  # a dark glasses frame across the face, through the edge on both sides
    edge = (mask > 0.2) & (mask < 0.8)
    out = match_boundary(face, framed, mask, sigma=0.1 * R)
    skin = (mask > 0.99) & ~blob
    skin[36:50, :] = False
    # the face still meets the camera's skin at the edge, and the frame's darkness is not spread inside
    assert np.abs(out - camera)[edge & (np.abs(framed - camera).sum(2) == 0)].mean() < 0.015
    assert np.abs(out - camera)[skin].mean() < 0.03


def test_scale_offset_matrix_scales_about_centre():
    m = scale_offset_matrix(64, 2.0, 0.0, 0.0)
    centre = np.array([[31.5, 31.5]])
    np.testing.assert_allclose(transform_points(m, centre), centre)
    # sampling at half the distance from the centre makes the face appear twice as large
    np.testing.assert_allclose(transform_points(m, np.array([[63.5, 31.5]])), [[47.5, 31.5]])
    shifted = scale_offset_matrix(64, 1.0, 0.25, 0.0)
    np.testing.assert_allclose(transform_points(shifted, centre), [[15.5, 31.5]])


def test_paste_moves_the_face_as_the_settings_ask():
    """A bright square in the middle of the crop lands 16 frame pixels right of its plain place."""
    face = np.zeros((64, 64, 3), np.float32)
    face[24:40, 24:40] = 1.0
    alpha = np.ones((64, 64), np.float32)
    matrix = np.array([[1.0, 0.0, -32.0], [0.0, 1.0, -32.0]])  # frame → crop: the crop sits at (32, 32)
    frames = {}
    for offset in (0.0, 0.25):
        frame = np.zeros((128, 128, 3), np.uint8)
        Blender(BlendSettings(mode="alpha", face_offset_x=offset), 64).paste(frame, face, alpha, matrix, None)
        frames[offset] = frame[..., 0] > 127
    columns = {offset: np.flatnonzero(bright.any(0)) for offset, bright in frames.items()}
    assert (columns[0.0].min(), columns[0.0].max()) == (56, 71)
    assert (columns[0.25].min(), columns[0.25].max()) == (72, 87)
