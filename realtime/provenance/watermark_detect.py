"""Finds the mark of :mod:`.watermark` in frames that may have been re-encoded, rescaled or cropped.

1. Each frame is brought to a fixed height (:data:`CANON_HEIGHT`, where a cell of the mark is about
   2 px whatever the frame's size) and high-passed: what is left is fine detail plus the mark.
   The residuals of a window of frames are added up: the mark is the same in every frame, the
   picture moves, so the mark stands out more with every frame.
2. **Scale**: the mark repeats every tile. Tried against the sync pattern: the periods it has as
   marked, after a 0.5× downscale and after a crop (rescaled or not), and the highest peaks of the
   residual's autocorrelation along x and y (with their second multiples, to a fraction of a pixel),
   which find other scales in 0.55–2.6× the nominal period; the best one is refined within ±1 %.
   The autocorrelation alone is not enough: a codec's block grid or lines of text repeat too.
3. **Position**: the residual is resampled so a tile is 64 px, folded onto one tile (summed over
   all tiles), whitened (its spectrum flattened: what is left of the picture weighs no more at one
   frequency than at another) and cross-correlated with the sync pattern over every cyclic shift
   (FFT). The peak's height in standard deviations of the whole correlation surface is the score
   ``z``; a crop moves the peak, it does not lower it.
4. **Payload**: at the peak's shift, each coded bit is the sign of the correlation with its own
   pattern; the CRC-16 and the tag must agree, or no payload is reported.

``z`` ≥ :data:`Z_FOUND` means found. On unmarked video the best of the 4096 shifts of the ~30
periods tried scores about 4.5, at most 5.6 over 1,342 one-second windows of real clips, attacked
or not (benchmarks/provenance.py measures the false-positive rate).

Pure core: :func:`residual`, :func:`candidate_periods`, :func:`fold`, :func:`whiten`, :func:`locate`,
:func:`detect`.
Wrapper: :class:`MarkReader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from .watermark import CELLS, TAG_BITS, Payload, cell_size, decode_code, key_patterns, payload_code, render_tile

CANON_HEIGHT = 360  # frames are read at this height: a nominal cell is 2 px
CANON_CELL = 2
CANON_PERIOD = CELLS * CANON_CELL  # 64 px
PERIOD_RANGE = (0.55, 2.6)  # of the nominal period: 4 px cells below 720p, crops, rescales
Z_FOUND = 6.0
CANDIDATES = 16  # periods from the autocorrelation tried against the sync pattern (besides the EXPECTED ones)
# (height as marked / height now, scale since): as marked, 0.5× downscaled, 20 % or 10 % cropped
# off, such a crop scaled back up
EXPECTED = ((1.0, 1.0), (2.0, 0.5), (1 / 0.8, 1.0), (1 / 0.9, 1.0), (1.0, 1 / 0.8), (1.0, 1 / 0.9))
SHARPEN = (0.99, 0.995, 1.005, 1.01)  # the best period's neighbours tried
# periods a reading tries at most: the autocorrelation's, each expected one as computed and refined,
# the fine search (the false-alarm estimate of swapcam verify multiplies by it)
PERIODS_TRIED = CANDIDATES + 2 * len(EXPECTED) + len(SHARPEN)
PEAK_RADIUS = 3  # canonical px around the peak left out of the background statistics
HIGHPASS_SIGMA = 2.0  # px at the canonical height: removes the picture's broad shapes, keeps the mark
WHITEN_SIGMA = 1.0  # frequency bins: how locally the folded tile's spectrum is flattened (see whiten)


@dataclass(frozen=True)
class Detection:
    """``z``: the sync peak in standard deviations; ``found``: z ≥ Z_FOUND; ``payload``: decoded
    (CRC and tag agree) or None; ``period``: the tile period found (canonical px);
    ``frames``: how many frames were added up; ``soft``: the 48 bit correlations, for
    :func:`model_z`."""

    found: bool
    z: float
    payload: Payload | None
    period: float
    shift: tuple[int, int]
    frames: int
    soft: np.ndarray | None = field(default=None, repr=False, compare=False)


def model_z(soft: np.ndarray, fingerprint: int) -> float:
    """How strongly soft bits agree with one model's payload, in standard deviations: finds a known
    model's mark when too little is left to decode 48 bits without error. Only the fingerprint and
    CRC bits count (the tag is the same for every model)."""
    code = payload_code(Payload(fingerprint))[TAG_BITS:]
    bits = soft[TAG_BITS:]
    return float(bits @ code / (np.sqrt(np.sum(bits * bits)) + 1e-12))


def residual(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR or (H, W) gray → (CANON_HEIGHT, W') float32 high-passed luminance,
    clipped at 3 mean-absolute-deviations so strong edges do not drown the mark."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = gray.shape
    canon_width = max(CANON_PERIOD, round(width * CANON_HEIGHT / height))
    interpolation = cv2.INTER_AREA if height > CANON_HEIGHT else cv2.INTER_LINEAR
    small = cv2.resize(gray.astype(np.float32), (canon_width, CANON_HEIGHT), interpolation=interpolation)
    detail = small - cv2.GaussianBlur(small, (0, 0), HIGHPASS_SIGMA)
    limit = 3.0 * float(np.mean(np.abs(detail))) + 1e-6
    return np.clip(detail, -limit, limit, out=detail)


def _peak(profile: np.ndarray, guess: float, reach: int = 3) -> tuple[float, float]:
    """Sub-pixel position and height of the highest point of ``profile`` within ``reach`` of ``guess``."""
    lo, hi = max(1, int(round(guess)) - reach), min(len(profile) - 2, int(round(guess)) + reach)
    if hi < lo:
        return guess, 0.0
    i = lo + int(np.argmax(profile[lo : hi + 1]))
    a, b, c = profile[i - 1], profile[i], profile[i + 1]
    bend = a - 2 * b + c
    offset = 0.5 * (a - c) / bend if bend < 0 else 0.0
    return i + float(np.clip(offset, -0.5, 0.5)), float(b)


def _refine(profile: np.ndarray, lag: int) -> float:
    """A period to a fraction of a pixel from the profile's peaks near ``lag`` and ``2·lag``."""
    first, _ = _peak(profile, lag)
    if 2 * first + 4 >= len(profile):
        return first
    second, _ = _peak(profile, 2 * first)
    return (first + 2 * second) / 5.0  # least squares of k·P ≈ peak_k for k = 1, 2


def candidate_periods(total: np.ndarray, source_height: int, count: int = CANDIDATES) -> list[float]:
    """Periods (px, the same along x and y) where the summed residual of frames ``source_height`` px
    high may repeat: the expected ones, then the autocorrelation's highest peaks.

    From the autocorrelation along both axes (with its second multiple): the mark's period is among
    the highest peaks, but a codec's block grid (8 or 16 px) repeats too, so several candidates go on
    to the sync correlation, which only the mark passes."""
    h, w = total.shape
    lo, hi = (int(CANON_PERIOD * f) for f in PERIOD_RANGE)
    reach = 2 * hi + 4
    shape = (cv2.getOptimalDFTSize(h + reach), cv2.getOptimalDFTSize(w + reach))  # no wrap-around
    spectrum = np.fft.rfft2(total, shape)
    auto = np.fft.irfft2(spectrum * np.conj(spectrum), shape)
    # a zero-padded image's autocorrelation falls off with the lag as the overlap shrinks: undo that
    longest = min(reach, int(0.8 * h), int(0.8 * w))
    lags = np.arange(longest)
    profile = auto[0, :longest] * w / (w - lags) + auto[:longest, 0] * h / (h - lags)
    hi = min(hi, longest - 2)
    if hi <= lo:
        return []
    span = np.arange(lo, hi + 1)
    doubled = np.where(2 * span < longest, profile[np.minimum(2 * span, longest - 1)], 0.0)
    score = profile[span] + doubled
    peaks = [i for i in range(1, len(span) - 1) if score[i] >= score[i - 1] and score[i] >= score[i + 1]]
    peaks.sort(key=lambda i: -score[i])
    # where the mark would repeat after the usual changes, refined on the autocorrelation: a codec's
    # block grid or lines of text can outrank the mark's own peak, never hide it from these
    expected = []
    for period in expected_periods(source_height):  # as computed, and as the autocorrelation has it
        expected += [period, _refine(profile, round(period))] if lo <= period <= hi else [period]
    found: list[float] = []
    for period in expected + [_refine(profile, int(span[i])) for i in peaks]:
        if len(found) >= count + len(expected):
            break
        if all(abs(period - other) > 0.25 for other in found):
            found.append(period)
    return found


def expected_periods(height: int) -> list[float]:
    """The mark's period (canonical px) in a frame ``height`` px high as marked, after a 0.5×
    downscale, after 10–20 % cropped off without rescaling, and after such a crop scaled back up."""
    to_canon = CANON_HEIGHT / height
    return [CELLS * cell_size(round(height * marked)) * scale * to_canon for marked, scale in EXPECTED]


def _sharpen(total: np.ndarray, period: float) -> tuple[float, tuple[int, int], np.ndarray, float]:
    """The best fold within ±1 % of ``period``: a small error in the period blurs the far tiles."""
    best = None
    for factor in SHARPEN:
        z_here, shift, soft = locate(fold(total, period * factor))
        if best is None or z_here > best[0]:
            best = (z_here, shift, soft, period * factor)
    assert best is not None
    return best


@lru_cache(maxsize=1)
def _canonical_key() -> tuple[np.ndarray, np.ndarray]:
    """The sync pattern's conjugate spectrum and the bit patterns, drawn at the canonical cell size."""
    sync, bits = key_patterns()
    sync_spectrum = np.conj(np.fft.rfft2(render_tile(sync, CANON_CELL)))
    bit_tiles = np.stack([render_tile(b, CANON_CELL) for b in bits])
    return sync_spectrum, bit_tiles


def fold(total: np.ndarray, period: float) -> np.ndarray:
    """Resample so a tile is CANON_PERIOD px, then add all tiles up: (CANON_PERIOD, CANON_PERIOD)."""
    h, w = total.shape
    size = (max(1, round(w * CANON_PERIOD / period)), max(1, round(h * CANON_PERIOD / period)))
    scaled = cv2.resize(total, size, interpolation=cv2.INTER_LINEAR)
    p = CANON_PERIOD
    padded = np.zeros((-(-size[1] // p) * p, -(-size[0] // p) * p), np.float32)
    padded[: size[1], : size[0]] = scaled
    return padded.reshape(padded.shape[0] // p, p, padded.shape[1] // p, p).sum(axis=(0, 2))


def whiten(folded: np.ndarray) -> np.ndarray:
    """A folded tile (K, K) float32 with a flat spectrum: each frequency divided by the local mean of
    the spectrum's magnitude (Gaussian, WHITEN_SIGMA bins).

    What is left of the picture after the high-pass is far from white noise: broad shapes and the
    codec's blocks put most of its energy into a few frequencies, and there it drowns the mark's
    share. Dividing by the magnitude weighs every frequency by how little picture it carries (the
    mark is too faint to change the magnitude), so the sync correlation hears the mark wherever it
    survived; on real clips after H.264 → 0.5× → H.264 it raised the median z from 8.6 to 15, and on
    unmarked clips the background becomes closer to Gaussian (highest z 5.8 → 5.3)."""
    spectrum = np.fft.rfft2(folded)
    magnitude = cv2.GaussianBlur(np.abs(spectrum).astype(np.float32), (0, 0), WHITEN_SIGMA) + 1e-6
    return np.fft.irfft2(spectrum / magnitude, folded.shape).astype(np.float32)


def locate(folded: np.ndarray) -> tuple[float, tuple[int, int], np.ndarray]:
    """The sync pattern's peak in a folded tile (whitened first): its z score, its (dy, dx) shift and
    the 48 soft bits."""
    sync_spectrum, bit_tiles = _canonical_key()
    folded = whiten(folded)
    surface = np.fft.irfft2(np.fft.rfft2(folded) * sync_spectrum, folded.shape)
    index = int(np.argmax(surface))
    dy, dx = divmod(index, surface.shape[1])
    # the peak's own neighbourhood is left out of the spread: a smooth pattern correlates with itself
    # over a few pixels of shift, which would otherwise cap z however strong the mark
    around = np.roll(surface, (PEAK_RADIUS - dy, PEAK_RADIUS - dx), axis=(0, 1))
    background = np.ones(surface.shape, bool)
    background[: 2 * PEAK_RADIUS + 1, : 2 * PEAK_RADIUS + 1] = False
    rest = around[background]
    z = float((surface.flat[index] - rest.mean()) / (rest.std() + 1e-12))
    aligned = np.roll(folded, (-dy, -dx), axis=(0, 1))
    soft = np.tensordot(bit_tiles, aligned, axes=((1, 2), (0, 1)))
    return z, (dy, dx), soft


def detect(total: np.ndarray, frames: int, source_height: int) -> Detection:
    """Look for the mark in a summed residual of ``frames`` frames ``source_height`` px high: the
    candidate period whose fold correlates best with the sync pattern."""
    best: tuple[float, tuple[int, int], np.ndarray, float] | None = None
    for period in candidate_periods(total, source_height):
        z, shift, soft = locate(fold(total, period))
        if best is None or z > best[0]:
            best = (z, shift, soft, period)
    if best is None:  # too small a frame for even one period
        return Detection(False, 0.0, None, 0.0, (0, 0), frames)
    finer = _sharpen(total, best[3])
    z, shift, soft, period = finer if finer[0] > best[0] else best
    found = z >= Z_FOUND
    payload = decode_code(soft) if found else None
    return Detection(found, round(z, 2), payload, round(period, 3), shift, frames, soft)


class MarkReader:
    """Adds frames up until :meth:`result` is asked; frames of another size start a new sum."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.frames = 0
        self.height = 0  # of the frames as given, before they were brought to CANON_HEIGHT

    def add(self, image: np.ndarray) -> None:
        self.add_residual(residual(image), image.shape[0])

    def add_residual(self, part: np.ndarray, height: int) -> None:
        """Add the :func:`residual` of a frame ``height`` px high (when several readers share frames)."""
        if self.total is None or self.total.shape != part.shape or height != self.height:
            self.total, self.frames, self.height = part.copy(), 0, height
        else:
            self.total += part
        self.frames += 1

    def result(self) -> Detection:
        if self.total is None:
            raise ValueError("no frames were added")
        return detect(self.total, self.frames, self.height)

    def reset(self) -> None:
        self.total, self.frames = None, 0
