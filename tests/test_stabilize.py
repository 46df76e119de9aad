import numpy as np

from swapcam.realtime.stages.stabilize import LandmarkStabilizer, StabilizeSettings, one_euro_step


def face(offset=0.0, n=468):
    rng = np.random.default_rng(1)
    return (rng.uniform(0, 200, (n, 2)) + 300 + offset).astype(np.float32)


def test_jitter_at_rest_is_reduced():
    settings = StabilizeSettings()
    rng = np.random.default_rng(2)
    base = face()
    state, raw_err, filt_err = None, [], []
    for i in range(120):
        noisy = base + rng.normal(0, 2.0, base.shape)
        state = one_euro_step(state, noisy, i / 30, settings)
        if i > 30:
            raw_err.append(np.abs(noisy - base).mean())
            filt_err.append(np.abs(state.value - base).mean())
    assert np.mean(filt_err) < 0.5 * np.mean(raw_err)


def test_fast_motion_has_little_lag():
    settings = StabilizeSettings()
    state = None
    for i in range(30):  # moves 20 px per frame: a quick head turn
        state = one_euro_step(state, face(20.0 * i), i / 30, settings)
    lag = np.abs(state.value - face(20.0 * 29)).mean()
    assert lag < 20.0  # less than one frame of motion behind


def test_lost_track_resets_and_disabled_passes_through():
    stabilizer = LandmarkStabilizer(StabilizeSettings())
    stabilizer([face()], 0.0)
    stabilizer([], 1 / 30)  # face lost
    far = face(400.0)
    np.testing.assert_array_equal(stabilizer([far], 2 / 30)[0], far)  # new track starts at the raw points
    off = LandmarkStabilizer(StabilizeSettings(smoothing=False))
    assert off([far], 0.0)[0] is far
