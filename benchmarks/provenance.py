"""Provenance: does the invisible mark survive what happens to a video, and does it stay invisible?

Every clip (synthetic 720p identities; with ../shared/media every real clip, scaled and cropped to
fill 1280 × 720 as a webcam would frame it) goes through the real pipeline (``run_live`` with the
demo model, disclosure label on, mark off), then is marked exactly as the live sink marks it. Each
attack below is applied to the marked and to the unmarked (original, unswapped) frames, which are
then read in one-second windows:

* **detected**: share of marked windows where ``z ≥ Z_FOUND`` (target ≥ 95 % for every attack);
* **payload**: share of marked windows whose 48-bit payload decoded and named the right model;
* **false positives**: unmarked windows found (target ≤ 0.1 %), and their highest z.

Also: PSNR marked vs unmarked, the embed cost per 720p frame, and the baseline, the
``invisible-watermark`` package's DWT-DCT (32 bits a frame; a window counts when the bitwise
majority over its frames is exactly right). The baseline is optional (``pip install --no-deps
invisible-watermark PyWavelets``: its own requirements would replace OpenCV and NumPy) and slow
(0.3 s to mark a 720p frame here), so it runs on each clip's first two seconds, decodes every third
frame and faces the main attacks only.

Writes DIR/watermark_diff.png: a synthetic frame, the mark amplified 20× around grey, and a 3×
crop of a flat background marked and unmarked, side by side.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from .common import Results
from .quality_data import MEDIA, read_clip

SIZE = (1280, 720)
WIDTH, HEIGHT = SIZE
REAL_CLIPS = ("d3", "d6", "d9", "d10", "d12", "d14", "s20")
BASELINE_SECONDS = 2
BASELINE_ATTACKS = ("none", "h264-1M", "half", "jpeg70", "crop10", "chain")
BASELINE_EVERY = 3  # it decodes every third frame of a window: 0.1–0.3 s a 720p frame
CHUNK_SECONDS = 12  # longer clips are scored in parts: five copies of 12 s of 720p hold 4 GB


def h264(frames: list[np.ndarray], fps: float, preset: str, crf: int | None = None, kbit: int | None = None):
    """Through libx264 and back (PyAV): the codec of video calls, uploads and re-encodes."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        options = {"preset": preset}
        if kbit:
            stream.bit_rate = kbit * 1000
        else:
            options["crf"] = str(crf)
        stream.options = options
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def _each(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[list[np.ndarray], float], list[np.ndarray]]:
    return lambda frames, fps: [change(f) for f in frames]


def _half(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _jpeg(frame: np.ndarray) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])[1], cv2.IMREAD_COLOR)


def _crop(frame: np.ndarray) -> np.ndarray:
    dy, dx = frame.shape[0] // 10, frame.shape[1] // 10
    return frame[dy:-dy, dx:-dx]


def _chain(frames: list[np.ndarray], fps: float) -> list[np.ndarray]:
    call = h264(frames, fps, "veryfast", kbit=1000)
    return h264([_half(f) for f in call], fps, "veryfast", kbit=500)


#: name → (what it does, function of (frames, fps)); the order of the table
ATTACKS: dict[str, tuple[str, Callable[[list[np.ndarray], float], list[np.ndarray]]]] = {
    "none": ("the marked output as written", lambda frames, fps: frames),
    "h264-1M": ("H.264 at 1 Mbit/s, preset veryfast (a video call)", lambda f, r: h264(f, r, "veryfast", kbit=1000)),
    "h264-crf30": ("H.264 CRF 30, preset medium", lambda f, r: h264(f, r, "medium", crf=30)),
    "half": ("0.5× downscale (area)", _each(_half)),
    "jpeg70": ("JPEG quality 70, every frame", _each(_jpeg)),
    "bright+10": ("brightness +10 % (+25 grey levels)", _each(lambda f: cv2.convertScaleAbs(f, alpha=1.0, beta=25.5))),
    "bright-10": ("brightness −10 %", _each(lambda f: cv2.convertScaleAbs(f, alpha=1.0, beta=-25.5))),
    "contrast+10": ("contrast +10 % about mid-grey", _each(lambda f: cv2.convertScaleAbs(f, alpha=1.1, beta=-12.8))),
    "contrast-10": ("contrast −10 % about mid-grey", _each(lambda f: cv2.convertScaleAbs(f, alpha=0.9, beta=12.8))),
    "crop10": ("10 % cut from every border (the middle 80 % kept, not rescaled)", _each(_crop)),
    "chain": ("H.264 1 Mbit/s → 0.5× → H.264 500 kbit/s", _chain),
}
QUICK_ATTACKS = ("none", "half", "jpeg70", "crop10")


def fill(frame: np.ndarray) -> np.ndarray:
    """Scale and centre-crop to fill 1280 × 720, as a webcam frames a face."""
    h, w = frame.shape[:2]
    scale = max(WIDTH / w, HEIGHT / h)
    big = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    y, x = (big.shape[0] - HEIGHT) // 2, (big.shape[1] - WIDTH) // 2
    return np.ascontiguousarray(big[y : y + HEIGHT, x : x + WIDTH])


def clips(quick: bool) -> Iterable[tuple[str, list[np.ndarray], float]]:
    """(name, 720p frames, fps): synthetic identities, then every real clip there is."""
    from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

    seconds = 2 if quick else 6
    for identity in ("ada",) if quick else ("ada", "bo"):
        video = SyntheticVideo(SyntheticSettings(identity=identity, size=f"{WIDTH}x{HEIGHT}"))
        yield f"synthetic {identity}", [video.frame(i).image for i in range(30 * seconds)], 30.0
    if quick:
        return
    for name in REAL_CLIPS:
        path = next(MEDIA.parent.glob(f"*/{name}.mp4"), None)  # liveportrait-driving and -source
        if path is None:
            continue
        frames, fps = read_clip(path)
        step = round(fps * CHUNK_SECONDS)
        for part, start in enumerate(range(0, len(frames), step)):
            chunk = [fill(f) for f in frames[start : start + step]]
            if len(chunk) >= fps:
                yield (f"{name}" if part == 0 else f"{name} part {part + 1}"), chunk, fps


def swap(frames: list[np.ndarray], fps: float, folder: Path) -> list[np.ndarray]:
    """The pipeline's output for ``frames`` (demo model, label on, mark off): lossless FFV1 in, every frame."""
    from swapcam.realtime.provenance.label import ProvenanceSettings
    from swapcam.realtime.run.config import LiveConfig
    from swapcam.realtime.run.demo import DEMO_MODEL
    from swapcam.realtime.run.live import LiveRun, run_live
    from swapcam.realtime.sources.base import CaptureSettings

    path = folder / "input.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "bgr0"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
        container.mux(stream.encode())
    outputs: list[np.ndarray] = []
    config = LiveConfig(capture=CaptureSettings(pace="every"), provenance=ProvenanceSettings(watermark=False))
    run_live(
        LiveRun(f"file:{path}", DEMO_MODEL, "null", config, on_output=lambda r: outputs.append(r.image.copy())),
        log=lambda line: None,
    )
    return outputs


def windows(frames: list[np.ndarray], per_window: int) -> list:
    """One :class:`Detection` per whole window of ``per_window`` frames."""
    from swapcam.realtime.provenance.watermark_detect import MarkReader

    found, reader = [], MarkReader()
    for frame in frames:
        reader.add(frame)
        if reader.frames == per_window:
            found.append(reader.result())
            reader.reset()
    return found


class Baseline:
    """invisible-watermark's DWT-DCT with a 32-bit payload, or None when the package is absent."""

    PAYLOAD = b"swap"

    def __init__(self):
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bytes", self.PAYLOAD)
        self.decoder = WatermarkDecoder("bits", 32)
        self.bits = np.unpackbits(np.frombuffer(self.PAYLOAD, np.uint8))

    def mark(self, frame: np.ndarray) -> np.ndarray:
        return self.encoder.encode(frame, "dwtDct")

    def window_found(self, frames: list[np.ndarray]) -> bool:
        picks = frames[::BASELINE_EVERY]
        votes = np.mean([np.asarray(self.decoder.decode(f, "dwtDct"), float) for f in picks], axis=0)
        return bool(np.array_equal(votes > 0.5, self.bits.astype(bool)))


def _baseline() -> Baseline | None:
    try:
        return Baseline()
    except ImportError:
        return None


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-12)))


def difference_picture(unmarked: np.ndarray, marked: np.ndarray, path: Path) -> None:
    """Amplified difference (20× about grey) beside a 3× crop of the top-left background, unmarked |
    marked: what the README means by invisible."""
    difference = np.clip(128 + 20 * (marked.astype(np.int16) - unmarked), 0, 255).astype(np.uint8)
    crop = (slice(20, 140), slice(20, 220))
    zoom = [cv2.resize(im[crop], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST) for im in (unmarked, marked)]
    gap = np.full((zoom[0].shape[0], 8, 3), 255, np.uint8)
    bottom = np.hstack([zoom[0], gap, zoom[1]])
    top = cv2.resize(difference, (bottom.shape[1], round(bottom.shape[1] * HEIGHT / WIDTH)))
    cv2.imwrite(str(path), np.vstack([top, np.full((8, bottom.shape[1], 3), 255, np.uint8), bottom]))


@dataclass
class Tally:
    """One attack's count over all clips: marked windows (``z``) and unmarked ones (``z_unmarked``)."""

    z: list[float] = field(default_factory=list)
    found: int = 0
    payload: int = 0
    z_unmarked: list[float] = field(default_factory=list)
    false: int = 0
    baseline_windows: int = 0
    baseline_found: int = 0
    baseline_false: int = 0

    def row(self, attack: str, baseline: bool) -> dict[str, object]:
        windows = max(len(self.z), 1)
        row: dict[str, object] = {
            "about": ATTACKS[attack][0],
            "windows": len(self.z),
            "detected": round(self.found / windows, 4),
            "payload_right": round(self.payload / windows, 4),
            "z_median": float(np.median(self.z)) if self.z else 0.0,
            "z_min": float(np.min(self.z)) if self.z else 0.0,
            "unmarked_windows": len(self.z_unmarked),
            "false_positives": self.false,
            "z_unmarked_max": float(np.max(self.z_unmarked)) if self.z_unmarked else 0.0,
        }
        if baseline and attack in BASELINE_ATTACKS:
            row["baseline_detected"] = round(self.baseline_found / max(self.baseline_windows, 1), 4)
            row["baseline_false"] = self.baseline_false
        return row


def run(quick: bool, out: Path) -> Results:
    from swapcam.realtime.provenance.watermark import Payload, Watermarker, model_fingerprint
    from swapcam.realtime.provenance.watermark_detect import Z_FOUND
    from swapcam.realtime.run.demo import DEMO_MODEL

    fingerprint = model_fingerprint(DEMO_MODEL)
    marker = Watermarker(Payload(fingerprint))
    baseline = None if quick else _baseline()
    attacks = QUICK_ATTACKS if quick else tuple(ATTACKS)
    tally = {name: Tally() for name in attacks}
    psnrs: list[float] = []
    embed_ms: list[float] = []
    per_clip: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, originals, fps in clips(quick):
            print(f"benchmarks: provenance: {name} ({len(originals)} frames)", flush=True)
            first_part = "part" not in name
            swapped = swap(originals, fps, Path(folder))
            marked = [frame.copy() for frame in swapped]
            for frame in marked:
                started = time.perf_counter()
                marker(frame)
                embed_ms.append((time.perf_counter() - started) * 1e3)
            psnrs += [psnr(a, b) for a, b in zip(swapped[::10], marked[::10], strict=True)]
            if name == "synthetic ada":
                difference_picture(swapped[0], marked[0], out / "watermark_diff.png")
            per_window = max(1, round(fps))
            per_clip[name] = {}
            for attack in attacks:
                change = ATTACKS[attack][1]
                hits = windows(change(marked, fps), per_window)
                misses = windows(change(originals, fps), per_window)
                row = tally[attack]
                row.z += [d.z for d in hits]
                row.found += sum(d.found for d in hits)
                row.payload += sum(d.payload is not None and d.payload.fingerprint == fingerprint for d in hits)
                row.z_unmarked += [d.z for d in misses]
                row.false += sum(d.found for d in misses)
                per_clip[name][attack] = f"{sum(d.found for d in hits)}/{len(hits)}"
            if baseline is not None and first_part:
                count = per_window * BASELINE_SECONDS
                base_marked = [baseline.mark(f) for f in swapped[:count]]
                starts = range(0, count - per_window + 1, per_window)
                for attack in BASELINE_ATTACKS:
                    attacked = ATTACKS[attack][1](base_marked, fps)
                    tally[attack].baseline_windows += len(starts)
                    tally[attack].baseline_found += sum(
                        baseline.window_found(attacked[s : s + per_window]) for s in starts
                    )
                # false positives: on the unswapped, unmarked frames
                tally["none"].baseline_false += sum(
                    baseline.window_found(originals[s : s + per_window]) for s in starts
                )
    return {
        "z_found": Z_FOUND,
        "attacks": {attack: row.row(attack, baseline is not None) for attack, row in tally.items()},
        "per_clip": per_clip,
        "psnr_db": {"median": float(np.median(psnrs)), "min": float(np.min(psnrs))},
        "embed_ms": {"p50": float(np.median(embed_ms)), "p95": float(np.percentile(embed_ms, 95))},
        "baseline": (
            f"invisible-watermark dwtDct, 32 bits, first {BASELINE_SECONDS} s of each clip"
            if baseline
            else "not installed"
        ),
        "clips": list(per_clip),
    }


def markdown(results: Results) -> list[str]:
    baseline = results["baseline"] != "not installed"
    lines = [
        f"Clips: {', '.join(results['clips'])}; windows of one second; found at z ≥ {results['z_found']}.",
        f"PSNR marked vs unmarked: median {results['psnr_db']['median']:.1f} dB, lowest "
        f"{results['psnr_db']['min']:.1f} dB. Embed: p50 {results['embed_ms']['p50']:.2f} ms, "
        f"p95 {results['embed_ms']['p95']:.2f} ms per 1280×720 frame. Baseline: {results['baseline']}.",
        "",
        "| attack | windows | detected | payload right | z median (min) | false positives (max z) |"
        + (" baseline detected | baseline false |" if baseline else ""),
        "|---|---|---|---|---|---|" + ("---|---|" if baseline else ""),
    ]
    for attack, row in results["attacks"].items():
        line = (
            f"| {attack}: {row['about']} | {row['windows']} | {row['detected']:.1%} | {row['payload_right']:.1%} | "
            f"{row['z_median']:.1f} ({row['z_min']:.1f}) | {row['false_positives']} of {row['unmarked_windows']} "
            f"(max z {row['z_unmarked_max']:.1f}) |"
        )
        if baseline and "baseline_detected" in row:
            line += f" {row['baseline_detected']:.0%} | {row['baseline_false'] if attack == 'none' else '–'} |"
        elif baseline:
            line += " – | – |"
        lines.append(line)
    return lines
