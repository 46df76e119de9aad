"""The aligned crop and the fused paste-back against their OpenCV + NumPy references."""

import cv2
import numpy as np
import pytest

from swapcam.realtime.stages.warp import crop_aligned, paste_back

H, W = 240, 320


def similarity(rng, size, scale=None, centre=None):
    """Random frame → crop similarity: rotation, scale 0.3–3 crop px per frame px, any placement."""
    angle = rng.uniform(0, 2 * np.pi)
    scale = rng.uniform(0.3, 3.0) if scale is None else scale
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    if centre is None:  # may put the crop partly or wholly outside the frame
        centre = (rng.uniform(-0.2 * W, 1.2 * W), rng.uniform(-0.2 * H, 1.2 * H))
    M = np.array([[c, -s, 0.0], [s, c, 0.0]])
    M[:, 2] = np.array([size / 2, size / 2]) - M[:, :2] @ np.asarray(centre)
    return M


def reference_paste(frame, face, mask, M):
    h, w = frame.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    f = cv2.warpAffine(face, M, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    a = cv2.warpAffine(mask, M, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT)[..., None]
    return np.clip(np.rint(frame * (1 - a) + f * 255 * a), 0, 255).astype(np.uint8)


def test_crop_matches_warpaffine_uint8_and_float():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)  # noise: the hardest case for rounding
    for size in (1, 7, 64, 128, 131):
        for _ in range(6):
            M = similarity(rng, size)
            ref = cv2.warpAffine(
                frame, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            ).astype(np.int16)
            got = crop_aligned(frame, M, size)
            assert got.dtype == np.uint8 and got.shape == (size, size, 3)
            assert np.abs(got.astype(np.int16) - ref).max() <= 1
            unit = crop_aligned(frame, M, size, out=np.empty((size, size, 3), np.float32))
            assert unit.min() >= 0.0 and unit.max() <= 1.0
            # Unrounded: within half a level of OpenCV's rounded value (plus float slack).
            assert np.abs(unit * 255.0 - ref).max() <= 0.5 + 1e-3


def test_crop_writes_into_out_and_replicates_the_border():
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:, :, 1] = 200
    frame[:, -1] = (10, 20, 30)  # right edge column
    out = np.full((16, 16, 3), 7, np.uint8)
    M = np.array([[1.0, 0.0, -(W + 50.0)], [0.0, 1.0, -100.0]])  # wholly right of the frame
    assert crop_aligned(frame, M, 16, out=out) is out
    assert (out == np.array([10, 20, 30], np.uint8)).all()


def test_crop_rejects_bad_out():
    frame = np.zeros((H, W, 3), np.uint8)
    with pytest.raises(ValueError):
        crop_aligned(frame, np.eye(2, 3), 8, out=np.empty((8, 8, 3), np.float64))
    with pytest.raises(ValueError):
        crop_aligned(frame, np.eye(2, 3), 8, out=np.empty((9, 8, 3), np.uint8))


def test_paste_matches_reference_and_touches_only_its_box():
    rng = np.random.default_rng(1)
    for r in (16, 64, 97, 128):
        for _ in range(5):
            frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            face = rng.random((r, r, 3), dtype=np.float32)
            mask = rng.random((r, r), dtype=np.float32)
            M = similarity(rng, r)
            ref = reference_paste(frame, face, mask, M)
            got = frame.copy()
            x0, y0, x1, y1 = paste_back(got, face, mask, M)
            assert 0 <= x0 <= x1 <= W and 0 <= y0 <= y1 <= H
            assert np.abs(got.astype(np.int16) - ref).max() <= 1
            outside = np.ones((H, W), bool)
            outside[y0:y1, x0:x1] = False
            assert np.array_equal(got[outside], frame[outside])
            # Nothing the reference changes lies outside the box either.
            assert np.array_equal(ref[outside], frame[outside])


def test_paste_into_separate_out_leaves_frame_and_rest_of_out_alone():
    rng = np.random.default_rng(2)
    r = 48
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    face = rng.random((r, r, 3), dtype=np.float32)
    mask = rng.random((r, r), dtype=np.float32)
    M = similarity(rng, r, scale=0.5, centre=(W / 2, H / 2))
    before = frame.copy()
    out = np.full_like(frame, 123)
    x0, y0, x1, y1 = paste_back(frame, face, mask, M, out=out)
    assert np.array_equal(frame, before)
    in_place = frame.copy()
    paste_back(in_place, face, mask, M)
    assert np.array_equal(out[y0:y1, x0:x1], in_place[y0:y1, x0:x1])
    outside = np.ones((H, W), bool)
    outside[y0:y1, x0:x1] = False
    assert (out[outside] == 123).all()


def test_paste_with_zero_mask_changes_nothing_and_loops_over_nothing():
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    got = frame.copy()
    box = paste_back(
        got,
        np.ones((64, 64, 3), np.float32),
        np.zeros((64, 64), np.float32),
        similarity(rng, 64, scale=1.0, centre=(W / 2, H / 2)),
    )
    assert box[2] == box[0] or box[3] == box[1]
    assert np.array_equal(got, frame)


def test_paste_box_is_bounded_by_the_mask_not_the_crop():
    rng = np.random.default_rng(5)
    r = 64
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    face = rng.random((r, r, 3), dtype=np.float32)
    mask = np.zeros((r, r), np.float32)
    mask[20:30, 24:40] = rng.random((10, 16), dtype=np.float32) + 0.01
    M = similarity(rng, r, scale=0.5, centre=(W / 2, H / 2))  # crop pixel = 2 frame pixels
    got = frame.copy()
    x0, y0, x1, y1 = paste_back(got, face, mask, M)
    full_x0, full_y0, full_x1, full_y1 = paste_back(frame.copy(), face, np.full((r, r), 0.5, np.float32), M)
    assert (x1 - x0) * (y1 - y0) < 0.2 * (full_x1 - full_x0) * (full_y1 - full_y0)
    assert np.abs(got.astype(np.int16) - reference_paste(frame, face, mask, M)).max() <= 1


def test_paste_with_full_mask_replaces_exactly_the_rotated_square():
    rng = np.random.default_rng(4)
    r = 64
    frame = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    colour = np.array([0.2, 0.6, 1.0], np.float32)
    face = np.broadcast_to(colour, (r, r, 3)).copy()
    M = similarity(rng, r, scale=0.8, centre=(W / 2, H / 2))  # rotated, wholly inside the frame
    got = frame.copy()
    paste_back(got, face, np.ones((r, r), np.float32), M)
    ys, xs = np.mgrid[0:H, 0:W]
    u = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
    v = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
    # 1/16 px of slack either side covers OpenCV's 1/32-pixel coordinate rounding.
    inside = (u >= 1 / 16) & (u <= r - 1 - 1 / 16) & (v >= 1 / 16) & (v <= r - 1 - 1 / 16)
    outside = (u <= -1 - 1 / 16) | (u >= r + 1 / 16) | (v <= -1 - 1 / 16) | (v >= r + 1 / 16)
    assert inside.sum() > 0.5 * (r / 0.8) ** 2
    assert (got[inside] == np.rint(colour * 255).astype(np.uint8)).all()
    assert np.array_equal(got[outside], frame[outside])


def test_paste_with_detail_puts_the_frames_fine_detail_back_on_a_blurred_face():
    import cv2

    from swapcam.realtime.stages.warp import detail_sigma, high_pass

    rng = np.random.default_rng(3)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), (0, 0), 0.7)
    M = np.array([[1.0, 0.0, 16.0], [0.0, 1.0, 16.0]])  # crop = frame shifted, same scale
    r = 128
    crop = crop_aligned(frame, M, r).astype(np.float32)
    blurred = cv2.GaussianBlur(crop, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT) / 255.0  # what a soft model renders
    mask = np.ones((r, r), np.float32)
    plain = frame.copy()
    paste_back(plain, blurred, mask, M)
    detailed = frame.copy()
    box = paste_back(detailed, blurred, mask, M, detail_mask=np.ones((r, r), np.float32))
    inner = (slice(4, 92), slice(4, 92))
    error_plain = np.abs(plain.astype(int) - frame.astype(int))[inner].mean()
    error_detail = np.abs(detailed.astype(int) - frame.astype(int))[inner].mean()
    assert detail_sigma(M) == pytest.approx(1.0)
    assert error_detail < 0.2 * error_plain and error_plain > 5
    expected = np.clip(blurred[16:112, 16:112] * 255 + high_pass(frame, 1.0) + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(detailed.astype(int) - expected.astype(int))[inner].max() <= 1
    zero = frame.copy()
    paste_back(zero, blurred, mask, M, detail_mask=np.zeros((r, r), np.float32))
    np.testing.assert_array_equal(zero, plain)
    assert box == (0, 0, 96, 96)
