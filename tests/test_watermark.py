"""The invisible mark: payload coding, embedding (against a NumPy reference), and detection after
the attacks of a video's life (codec, rescale, JPEG, crop, brightness), and never on unmarked video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmarks.provenance import ATTACKS as BENCHMARK_ATTACKS  # the attacks the benchmark measures
from benchmarks.provenance import h264
from swapcam.realtime.provenance import watermark_detect
from swapcam.realtime.provenance.watermark import (
    CODE_BITS,
    Payload,
    Watermarker,
    decode_code,
    embed,
    embed_reference,
    key_patterns,
    mark_pattern,
    model_fingerprint,
    payload_code,
    render_tile,
    texture_gain,
)
from swapcam.realtime.provenance.watermark_detect import (
    CANON_CELL,
    CANON_PERIOD,
    Z_FOUND,
    MarkReader,
    locate,
    model_z,
)
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

PAYLOAD = Payload(0xC0FFEE)


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    """20 frames (two thirds of a second) of moving synthetic 720p video, what swapcam streams."""
    video = SyntheticVideo(SyntheticSettings(identity="ada", size="1280x720", noise=2.0))
    return [video.frame(i).image for i in range(20)]


@pytest.fixture(scope="module")
def marked(clip) -> list[np.ndarray]:
    marker = Watermarker(PAYLOAD)
    frames = [frame.copy() for frame in clip]
    for frame in frames:
        marker(frame)
    return frames


def read(frames: list[np.ndarray]):
    reader = MarkReader()
    for frame in frames:
        reader.add(frame)
    return reader.result()


def test_payload_round_trip_and_checksum():
    code = payload_code(PAYLOAD)
    assert code.shape == (CODE_BITS,) and set(np.unique(code)) == {-1.0, 1.0}
    assert decode_code(code) == PAYLOAD
    for bit in (0, 9, 30, 40):  # a flipped tag, fingerprint or CRC bit is caught
        broken = code.copy()
        broken[bit] *= -1
        assert decode_code(broken) is None
    assert decode_code(payload_code(Payload(0xC0FFEE, tag=0x11))) is None  # not swapcam's tag


def test_model_fingerprint_is_24_bits_of_sha256():
    assert model_fingerprint(b"model a") != model_fingerprint(b"model b")
    assert 0 <= model_fingerprint(b"model a") < 2**24


def test_embed_matches_numpy_reference_and_is_invisible(clip):
    frame = clip[0].copy()
    frame[:10] = 255  # saturated rows stay in range
    frame[10:20] = 0
    pattern, gain = mark_pattern(*frame.shape[:2], payload_code(PAYLOAD)), texture_gain(frame)
    expected = embed_reference(frame, pattern, gain)
    marked = frame.copy()
    embed(marked, pattern, gain)
    assert np.array_equal(marked, expected)
    difference = marked.astype(np.float64) - frame
    inside = (frame.min(axis=2) > 20) & (frame.max(axis=2) < 235)  # not saturated in any channel
    assert np.array_equal(difference[inside, 0], difference[inside, 2])  # luminance only: B, G, R alike
    psnr = 10 * np.log10(255**2 / np.mean(difference**2))
    assert psnr >= 42
    assert np.abs(difference).max() <= 14  # the tile's peaks, in dense texture
    view = clip[0].copy()[:, 100:400]  # not contiguous: marked through a copy
    gain = texture_gain(view)
    embed(view, pattern[:, 100:400], gain)
    assert np.array_equal(view, embed_reference(clip[0][:, 100:400], pattern[:, 100:400], gain))


def test_texture_gain_marks_flat_areas_and_soft_edges_less():
    rng = np.random.default_rng(0)
    frame = np.full((64, 192, 3), 120, np.uint8)
    frame[:, 64:128] = np.linspace(60, 180, 64, dtype=np.uint8)[None, :, None]  # a soft edge: contrast, no detail
    blocks = rng.integers(60, 180, (16, 16, 1), dtype=np.uint8)  # right third: texture at the mark's scale
    frame[:, 128:] = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
    frame[:, :64] += rng.integers(0, 3, (64, 64, 1), dtype=np.uint8)  # pixel noise is not texture
    gain = texture_gain(frame)
    assert gain.shape == (16, 48)
    flat, soft_edge, textured = gain[4:12, 2:14], gain[4:12, 19:29], gain[4:12, 36:46]
    assert flat.max() < 0.35 and soft_edge.max() < 0.35 and textured.min() > 4 * flat.max()
    assert 2.4 * np.sqrt(np.mean(gain**2)) <= 1.75 + 1e-4  # the frame's mark stays under RMS_LIMIT


def test_found_with_its_payload_in_one_second(marked):
    detection = read(marked)
    assert detection.found and detection.z > 2 * Z_FOUND
    assert detection.payload == PAYLOAD
    assert abs(detection.period - 64) < 0.5  # 4 px cells at 720p: 2 px at the 360 px it is read at


def test_whitening_finds_a_mark_under_strong_periodic_detail(monkeypatch):
    """A faint sync tile under a picture whose leftover detail sits at a few strong frequencies (a
    codec's grid, stripes): found with the spectrum flattened, lost in the raw correlation."""
    sync, _ = key_patterns()
    tile = np.roll(render_tile(sync, CANON_CELL), (5, 9), axis=(0, 1))
    y, x = np.mgrid[0:CANON_PERIOD, 0:CANON_PERIOD].astype(np.float32) * (2 * np.pi / CANON_PERIOD)
    picture = 8 * np.cos(3 * x) + 6 * np.cos(8 * y) + 4 * np.cos(5 * x + 11 * y)
    folded = (0.2 * tile + picture + np.random.default_rng(1).normal(0, 1, tile.shape)).astype(np.float32)
    z, shift, _ = locate(folded)
    assert z >= 1.5 * Z_FOUND and shift == (5, 9)
    monkeypatch.setattr(watermark_detect, "whiten", lambda tile: tile)
    assert locate(folded)[0] < Z_FOUND - 1


def test_not_found_in_unmarked_video(clip):
    detection = read(clip)
    assert not detection.found and detection.payload is None
    assert detection.z < Z_FOUND - 1


def test_one_marked_frame_is_enough_for_a_photo(marked):
    detection = read(marked[:1])
    assert detection.found and detection.payload == PAYLOAD


ATTACKS = {
    "h264 crf 30": lambda frames: h264(frames, 30, "medium", crf=30),
    "h264 1 Mbit/s": lambda frames: h264(frames, 30, "veryfast", kbit=1000),
    "0.5x downscale": lambda frames: BENCHMARK_ATTACKS["half"][1](frames, 30),
    "jpeg 70": lambda frames: BENCHMARK_ATTACKS["jpeg70"][1](frames, 30),
    "brighter, less contrast": lambda frames: [cv2.convertScaleAbs(f, alpha=0.9, beta=38) for f in frames],
    "10% border crop": lambda frames: BENCHMARK_ATTACKS["crop10"][1](frames, 30),  # 10 % off every side
    "crop, scaled back up": lambda frames: [cv2.resize(f[72:-72, 128:-128], (1280, 720)) for f in frames],
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_survives(marked, attack):
    detection = read(ATTACKS[attack](marked))
    assert detection.found, f"z {detection.z} after {attack}"


@pytest.mark.parametrize("attack", ["h264 crf 30", "0.5x downscale", "10% border crop"])
def test_attacked_unmarked_video_stays_unmarked(clip, attack):
    assert not read(ATTACKS[attack](clip)).found


def test_a_known_model_is_named_from_a_faint_mark(clip):
    """Too little mark to decode 48 bits without error still agrees with the right model's payload
    and with no other."""
    marker = Watermarker(Payload(0x123456), strength=0.6)  # a quarter of the strength: mostly washed out
    faint = [frame.copy() for frame in clip]
    for frame in faint:
        marker(frame)
    detection = read(faint)
    assert detection.soft is not None
    assert detection.found and detection.payload is None
    assert model_z(detection.soft, 0x123456) >= 5.0  # MODEL_Z of swapcam verify; at most √40 ≈ 6.3
    assert max(abs(model_z(detection.soft, other)) for other in range(1, 40)) < 3
