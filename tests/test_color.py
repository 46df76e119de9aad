"""Colour transfers: against float64 references, on known values, and on the mask contract."""

import numpy as np
import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.color import COLOR_TRANSFERS, bgr_to_lab
from swapcam.realtime.stages.color_sot import SOT_BINS, SOT_ROTATIONS, sot_step, sot_step_reference

R = 64
MODES = ["rct", "lct", "mkl", "sot"]

# OpenCV's float LAB maths (sRGB, D65), in float64.
_XYZ = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.950456, 1.0, 1.088754])


def lab64(bgr):
    c = np.clip(bgr[..., ::-1].astype(np.float64), 0, 1)
    rgb = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = rgb @ _XYZ.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    L = np.where(xyz[..., 1] > 0.008856, 116 * f[..., 1] - 16, 903.3 * xyz[..., 1])
    return np.stack([L, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def bgr64(lab):
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    low = L <= 0.008856 * 903.3
    y = np.where(low, L / 903.3, ((L + 16) / 116) ** 3)
    fy = np.where(low, 7.787 * y + 16 / 116, (L + 16) / 116)
    fxz = np.stack([fy + a / 500, fy - b / 200], -1)
    xz = np.where(fxz > 7.787 * 0.008856 + 16 / 116, fxz**3, (fxz - 16 / 116) / 7.787)
    xyz = np.stack([xz[..., 0], y, xz[..., 1]], -1) * _WHITE
    rgb = np.clip(xyz @ np.linalg.inv(_XYZ).T, 0, 1)
    srgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * rgb ** (1 / 2.4) - 0.055)
    return srgb[..., ::-1]


def rct64(face, ref, mask):
    w = mask.reshape(-1, 1).astype(np.float64)
    lf, lr = lab64(face).reshape(-1, 3), lab64(ref).reshape(-1, 3)
    mf, mr = (w * lf).sum(0) / w.sum(), (w * lr).sum(0) / w.sum()
    sf = np.sqrt((w * (lf - mf) ** 2).sum(0) / w.sum())
    sr = np.sqrt((w * (lr - mr) ** 2).sum(0) / w.sum())
    out = (lf - mf) * (sr / sf) + mr
    return np.clip(bgr64(out.reshape(face.shape)), 0, 1)


def ellipse_mask(r=R):
    yy, xx = np.mgrid[0:r, 0:r]
    d = ((xx - r / 2) / (0.4 * r)) ** 2 + ((yy - r / 2) / (0.45 * r)) ** 2
    return np.clip((1.2 - d) / 0.4, 0, 1).astype(np.float32)  # soft edge, zero in the corners


def faces(seed=0, r=R):
    """A bluish face and a warmer, correlated reference, both mostly inside 0..1."""
    rng = np.random.default_rng(seed)
    face = np.clip(rng.normal(0, 0.07, (r, r, 3)) + [0.55, 0.45, 0.35], 0, 1)
    mix = np.array([[1.0, 0.4, 0.1], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    ref = np.clip(rng.normal(0, 0.05, (r, r, 3)) @ mix + [0.35, 0.5, 0.65], 0, 1)
    return face.astype(np.float32), ref.astype(np.float32)


def masked_mean(img, mask):
    w = mask.reshape(-1, 1).astype(np.float64)
    return (img.reshape(-1, 3) * w).sum(0) / w.sum()


def masked_cov(img, mask):
    w = mask.reshape(-1, 1).astype(np.float64)
    d = img.reshape(-1, 3) - masked_mean(img, mask)
    return (d * w).T @ d / w.sum()


def test_registry_names_and_unknown_mode():
    assert set(COLOR_TRANSFERS.names()) == {"rct", "lct", "mkl", "sot", "none"}
    with pytest.raises(UserError, match="rct"):
        COLOR_TRANSFERS.get("reinhard")


def test_none_is_identity():
    face, ref = faces()
    assert COLOR_TRANSFERS.get("none")(face, ref, ellipse_mask()) is face


def test_lab_matches_float64_maths():
    rng = np.random.default_rng(5)
    x = rng.random((R, R, 3)).astype(np.float32)
    x[0] = rng.random((R, 3)) * 0.03  # dark colours, where OpenCV's own float path is coarse
    lab = bgr_to_lab(x)
    assert np.abs(lab - lab64(x)).max() < 0.05  # float32 LAB units (L 0..100)


def test_rct_matches_float64_reference():
    for seed in range(3):
        face, ref = faces(seed)
        mask = ellipse_mask()
        got = COLOR_TRANSFERS.get("rct")(face, ref, mask)
        assert np.abs(got - rct64(face, ref, mask)).max() < 2e-3


@pytest.mark.parametrize("mode", MODES)
def test_output_shape_dtype_range_and_mean_moves_to_reference(mode):
    face, ref = faces(1)
    mask = ellipse_mask()
    out = COLOR_TRANSFERS.get(mode)(face, ref, mask)
    assert out.shape == face.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and np.isfinite(out).all()
    before = np.linalg.norm(masked_mean(face, mask) - masked_mean(ref, mask))
    after = np.linalg.norm(masked_mean(out, mask) - masked_mean(ref, mask))
    assert before > 0.3
    assert after < 0.02 * before


@pytest.mark.parametrize("mode, tolerance", [("lct", 1e-5), ("mkl", 1e-5), ("sot", 2.5e-4)])
def test_covariance_is_matched(mode, tolerance):
    face, ref = faces(2)
    mask = ellipse_mask()
    out = COLOR_TRANSFERS.get(mode)(face, ref, mask)
    target = masked_cov(ref, mask)
    assert np.abs(masked_cov(face, mask) - target).max() > 1e-3
    # lct and mkl match it exactly (up to the regulariser); sot only through the whole distribution,
    # from a ~2500-pixel sample in 256-bin histograms.
    assert np.abs(masked_cov(out, mask) - target).max() < tolerance


def test_rct_matches_lab_spread():
    face, ref = faces(3)
    mask = ellipse_mask()
    out = COLOR_TRANSFERS.get("rct")(face, ref, mask)
    std = [np.sqrt(np.diag(masked_cov(lab64(x), mask))) for x in (face, ref, out)]
    assert np.abs(std[0] - std[1]).max() > 1.0
    assert np.abs(std[2] - std[1]).max() < 0.05


@pytest.mark.parametrize("mode", MODES)
def test_pixels_outside_the_mask_do_not_count(mode):
    face, ref = faces(4)
    mask = ellipse_mask()
    transfer = COLOR_TRANSFERS.get(mode)
    out = transfer(face, ref, mask)
    rng = np.random.default_rng(6)
    off = mask == 0
    assert off.sum() > 100
    ref2, face2 = ref.copy(), face.copy()
    ref2[off] = rng.random((off.sum(), 3))
    face2[off] = rng.random((off.sum(), 3))
    np.testing.assert_allclose(transfer(face, ref2, mask), out, atol=1e-6)
    # Each pixel depends only on the masked statistics and itself: only the changed pixels change.
    out2 = transfer(face2, ref, mask)
    np.testing.assert_allclose(out2[~off], out[~off], atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_uniform_face_takes_uniform_reference_colour(mode):
    rng = np.random.default_rng(7)
    mask = ellipse_mask()
    on = mask > 0
    face = rng.random((R, R, 3)).astype(np.float32)
    ref = rng.random((R, R, 3)).astype(np.float32)
    face[on] = (0.7, 0.3, 0.2)
    ref[on] = (0.4, 0.5, 0.6)
    out = COLOR_TRANSFERS.get(mode)(face, ref, mask)
    assert np.isfinite(out).all()
    assert np.abs(out[on] - np.array([0.4, 0.5, 0.6])).max() < 2e-3


@pytest.mark.parametrize("mode", MODES)
def test_degenerate_inputs(mode):
    transfer = COLOR_TRANSFERS.get(mode)
    face, ref = faces(8)
    mask = ellipse_mask()
    assert transfer(face, ref, np.zeros_like(mask)) is face  # no statistics: unchanged
    flat = np.full_like(face, 0.5)
    for args in ((flat, ref, mask), (face, np.full_like(ref, 0.25), mask), (flat, flat, mask)):
        out = transfer(*args)
        assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    # A single pixel under the mask still works.
    one = np.zeros_like(mask)
    one[R // 2, R // 2] = 1.0
    assert np.isfinite(transfer(face, ref, one)).all()


def test_sot_is_deterministic_and_matches_the_distribution():
    face, ref = faces(9)
    mask = (ellipse_mask() > 0).astype(np.float32)
    sot = COLOR_TRANSFERS.get("sot")
    out = sot(face, ref, mask)
    assert np.array_equal(out, sot(face, ref, mask))
    on = mask > 0
    qs = np.linspace(0.05, 0.95, 10)
    for c in range(3):
        err = np.abs(np.quantile(out[on][:, c], qs) - np.quantile(ref[on][:, c], qs)).max()
        assert err < 0.01


def test_sot_step_kernel_matches_numpy_reference():
    face, ref = faces(10)
    mask = ellipse_mask().reshape(-1)
    idx = np.flatnonzero(mask > 0)
    pixels = face.reshape(-1, 3).copy()
    ref_samples = np.ascontiguousarray(ref.reshape(-1, 3)[idx])
    weights = np.ascontiguousarray(mask[idx])
    for rotation in SOT_ROTATIONS[:3]:
        expected = sot_step_reference(pixels, idx, ref_samples, weights, rotation, SOT_BINS)
        sot_step(pixels, idx, ref_samples, weights, rotation, SOT_BINS)
        np.testing.assert_allclose(pixels, expected, atol=1e-4)
        pixels = expected.astype(np.float32)


def test_matcher_without_smoothing_is_the_transfer_frame_by_frame():
    from swapcam.realtime.stages.color import ColorMatcher, ColorSettings

    face, ref = faces()
    mask = ellipse_mask()
    matcher = ColorMatcher(ColorSettings(mode="lct", smoothing=0.0))
    for t in range(3):
        np.testing.assert_array_equal(matcher(face, ref, mask, t / 30), COLOR_TRANSFERS.get("lct")(face, ref, mask))


@pytest.mark.parametrize("mode", ["rct", "lct", "mkl"])
def test_matcher_smoothing_damps_a_flickering_reference(mode):
    from swapcam.realtime.stages.color import ColorMatcher, ColorSettings

    face, ref = faces()
    mask = ellipse_mask()
    brighter = np.clip(ref + 0.1, 0, 1)
    per_frame = ColorMatcher(ColorSettings(mode=mode, smoothing=0.0))
    smooth = ColorMatcher(ColorSettings(mode=mode, smoothing=0.5))
    means = {"raw": [], "smooth": []}
    for t in range(30):  # the camera's face flickers between two brightnesses at 30 fps
        reference = ref if t % 2 else brighter
        means["raw"].append(masked_mean(per_frame(face, reference, mask, t / 30), mask))
        means["smooth"].append(masked_mean(smooth(face, reference, mask, t / 30), mask))
    swing = {k: np.abs(np.diff(np.array(v)[-10:], axis=0)).mean() for k, v in means.items()}
    assert swing["raw"] > 0.05 and swing["smooth"] < 0.15 * swing["raw"]
    middle = (masked_mean(ref, mask) + masked_mean(brighter, mask)) / 2
    np.testing.assert_allclose(means["smooth"][-1], middle, atol=0.02)  # settles between the two


def test_matcher_restarts_after_reset_or_a_long_gap_and_never_smooths_sot():
    from swapcam.realtime.stages.color import ColorMatcher, ColorSettings

    face, ref = faces()
    mask = ellipse_mask()
    dark = np.clip(ref - 0.2, 0, 1)
    for restart in ("reset", "gap"):
        matcher = ColorMatcher(ColorSettings(mode="rct", smoothing=1.0))
        matcher(face, ref, mask, 0.0)
        if restart == "reset":
            matcher.reset()
        later = 0.033 if restart == "reset" else 5.0
        np.testing.assert_array_equal(matcher(face, dark, mask, later), COLOR_TRANSFERS.get("rct")(face, dark, mask))
    sot = ColorMatcher(ColorSettings(mode="sot", smoothing=1.0))
    sot(face, ref, mask, 0.0)
    np.testing.assert_array_equal(sot(face, dark, mask, 0.033), COLOR_TRANSFERS.get("sot")(face, dark, mask))
