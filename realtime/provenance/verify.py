"""``swapcam verify PATH``: is swapcam's invisible mark in a video or image, what does it carry, and
what does a C2PA manifest in the file say.

A video is read in windows (one second by default) and as a whole: each window says whether the
mark is in that part (a clip cut from a longer one, a spliced video); the whole clip, with all its
frames added up, gives the strongest reading and the payload. A photo is one window of one frame.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from tqdm import tqdm

from ..core.errors import UserError
from ..sources.base import IMAGE_SUFFIXES
from .detector import DETECTOR_MODEL, SwapDetector, SwapWindows
from .watermark import model_fingerprint
from .watermark_detect import CANON_PERIOD, PERIODS_TRIED, Z_FOUND, Detection, MarkReader, model_z, residual

MODEL_SUFFIXES = {".onnx", ".dfm"}
MODEL_Z = 5.0  # agreement with one of the given models' payloads that names it (1 in 3.5 million by chance)


def false_alarm(z: float) -> float:
    """The chance that an unmarked video scores ``z`` or more: the Gaussian tail times the number of
    positions and periods tried (the benchmark measures the real rate on unmarked clips)."""
    hypotheses = PERIODS_TRIED * CANON_PERIOD**2
    return min(1.0, hypotheses * 0.5 * math.erfc(z / math.sqrt(2)))


class FrameReader:
    """The frames of a video or image file (BGR uint8), its frame rate (0 for an image) and how many
    packets of a damaged video could not be decoded (the rest is still read)."""

    def __init__(self, path: Path):
        if not path.exists():
            raise UserError(f"{path} does not exist: check the path")
        if path.is_dir():
            raise UserError(f"{path} is a folder: give one video or image file")
        self.path, self.damaged, self.fps = path, 0, 0.0
        self.length: int | None = 1
        self.container: Any = None
        if path.suffix.lower() in IMAGE_SUFFIXES:
            self.image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if self.image is None:
                raise UserError(f"{path} is not an image OpenCV can read: check the file")
            return
        try:
            self.container = av.open(str(path))
        except (av.FFmpegError, OSError) as err:
            raise UserError(f"{path} is not a video FFmpeg can open ({err}): check the file") from None
        if not self.container.streams.video:
            self.container.close()
            raise UserError(f"{path} has no video stream: give a video or an image")
        stream = self.container.streams.video[0]
        self.fps = float(stream.average_rate or stream.guessed_rate or 30)
        self.length = stream.frames or None  # for the progress bar, when the container says

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.container is None:
            yield self.image
            return
        with self.container:
            stream = self.container.streams.video[0]
            for packet in self.container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError:  # a damaged packet: the frames around it still count
                    self.damaged += 1
                    continue
                for frame in frames:
                    yield frame.to_ndarray(format="bgr24")


def _describe(detection: Detection, start_s: float | None = None) -> dict[str, Any]:
    found = asdict(detection)
    del found["soft"]
    found["payload"] = detection.payload.hex if detection.payload else None
    found["false_alarm"] = float(f"{false_alarm(detection.z):.3g}")
    if start_s is not None:
        found["start_s"] = round(start_s, 3)
    return found


def model_fingerprints(paths: Sequence[str]) -> dict[str, str]:
    """Fingerprint (hex) → model file name, for the models and model folders given."""
    found: dict[str, str] = {}
    for name in paths:
        path = Path(name)
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in MODEL_SUFFIXES) if path.is_dir() else [path]
        for file in files:
            if not file.is_file():
                raise UserError(f"--model {file} does not exist: give a model file or a folder of them")
            found[f"{model_fingerprint(file):06x}"] = str(file)
    return found


def _read(
    frames: FrameReader, per_window: int, swap: SwapWindows | None
) -> tuple[list[dict[str, Any]], Detection, int]:
    """Every frame through the mark reader (and the detector): the windows, the whole clip's
    reading and the number of frames."""
    fps = frames.fps
    window, whole = MarkReader(), MarkReader()
    windows: list[dict[str, Any]] = []
    count = 0
    # a bar for anything longer than a short clip, on a terminal only (--json output stays clean)
    bar = tqdm(
        total=frames.length,
        unit="frame",
        desc="swapcam verify",
        leave=False,
        disable=not sys.stderr.isatty() or (frames.length or 0) < 300,
    )
    for image in frames:
        bar.update()
        part = residual(image)
        window.add_residual(part, image.shape[0])
        whole.add_residual(part, image.shape[0])
        if swap is not None:
            swap.add(image)
        count += 1
        if window.frames == per_window:
            windows.append(_describe(window.result(), (count - per_window) / fps if fps else None))
            if swap is not None:
                windows[-1]["swap_score"] = swap.end_window()
            window.reset()
    bar.close()
    if window.frames >= max(1, per_window // 2):  # a last part of at least half a window counts
        windows.append(_describe(window.result(), (count - window.frames) / fps if fps else None))
        if swap is not None:
            windows[-1]["swap_score"] = swap.end_window()
    return windows, whole.result(), count


def verify(
    path: str | Path,
    window_s: float = 1.0,
    models: Sequence[str] = (),
    trust: str | None = None,
    detector: Path | None = DETECTOR_MODEL,
) -> dict[str, Any]:
    """Look for the mark (and a C2PA manifest) in ``path`` and, unless ``detector`` is None, score
    its faces with the swap detector; returns what :func:`verdict_lines` prints."""
    path = Path(path)
    if window_s <= 0:
        raise UserError(f"--window {window_s} must be positive: use e.g. 1 (seconds)")
    known = model_fingerprints(models)
    frames = FrameReader(path)  # a bad path is named before anything else is loaded
    swap_model = SwapDetector(detector) if detector is not None else None
    fps = frames.fps
    per_window = max(1, round(fps * window_s)) if fps else 1
    swap = SwapWindows(swap_model, fps) if swap_model is not None else None
    windows, overall, count = _read(frames, per_window, swap)
    if count == 0:
        raise UserError(f"{path} has no frames FFmpeg can decode: check the file")
    payload = overall.payload.hex if overall.payload else next((w["payload"] for w in windows if w["payload"]), None)
    model, model_score = known.get(payload) if payload else None, None
    if payload is None and overall.found and overall.soft is not None and known:
        # too little left to decode 48 bits: which of the given models agrees best with what is there
        scores = {name: model_z(overall.soft, int(hexed, 16)) for hexed, name in known.items()}
        best = max(scores, key=lambda name: scores[name])
        if scores[best] >= MODEL_Z:
            model, model_score = best, round(scores[best], 2)
    report: dict[str, Any] = {
        "path": str(path),
        "kind": "video" if fps else "image",
        "frames": count,
        "damaged_packets": frames.damaged,
        "fps": round(fps, 3),
        # the whole clip decides; a window whose payload passed its CRC is as sure on its own
        "found": overall.found or any(w["found"] and w["payload"] for w in windows),
        "z": overall.z,
        "false_alarm": float(f"{false_alarm(overall.z):.3g}"),
        "z_needed": Z_FOUND,
        "payload": payload,
        "model": model,
        "model_z": model_score,
        "windows_found": sum(w["found"] for w in windows),
        "windows": windows,
        "window_s": window_s,
        "c2pa": _manifest(path, trust),
        "detector": _detector_report(swap) if swap is not None else None,
    }
    return report


def _detector_report(swap: SwapWindows) -> dict[str, Any]:
    verdict = swap.verdict()
    return {
        **asdict(verdict),
        "threshold": round(swap.detector.threshold, 4),
        "trained_on": swap.detector.card.get("trained_on", ""),
    }


def _manifest(path: Path, trust: str | None) -> dict[str, Any] | None | str:
    if path.suffix.lower() not in {".mp4", ".mov", ".jpg", ".jpeg", ".png"}:
        return None
    try:
        from .signing import read_manifest

        return read_manifest(path, Path(trust).read_text() if trust else None)
    except UserError as err:  # c2pa-python is not installed: the mark is still checked
        return f"not checked: {err}"


def verdict_lines(report: dict[str, Any]) -> list[str]:
    """What ``swapcam verify`` prints, one finding a line."""
    name, windows = Path(report["path"]).name, report["windows"]
    span = f"{report['windows_found']} of {len(windows)} windows of {report['window_s']:g} s"
    if report["kind"] == "image":
        span = "one image"
    if report["found"]:
        lines = [
            f"{name}: swapcam mark found (z {report['z']:.1f}; an unmarked video scores this high with "
            f"chance {report['false_alarm']:.1g}); in {span}"
        ]
    else:
        lines = [f"{name}: no swapcam mark (z {report['z']:.1f}, {report['z_needed']:g} needed; {span})"]
    if report["payload"]:
        match = f" = {report['model']}" if report["model"] else ""
        lines.append(f"made by swapcam with the model of fingerprint {report['payload']}{match} (checksum ok)")
    elif report["model"]:
        lines.append(
            f"too little of the mark is left to read its 48 bits, but it agrees with {report['model']} "
            f"(z {report['model_z']:.1f}, from the models given with --model)"
        )
    elif report["found"]:
        lines.append("the payload (model fingerprint) did not pass its checksum: too little of the mark is left")
    if report["damaged_packets"]:
        lines.append(f"{report['damaged_packets']} damaged packets could not be decoded: read the frames around them")
    lines.append(_manifest_line(report["c2pa"]))
    if report.get("detector"):
        lines.append(_detector_line(report["detector"], report["found"], span_of(report)))
    return lines


def span_of(report: dict[str, Any]) -> str:
    return "the image" if report["kind"] == "image" else f"{report['window_s']:g}-s windows"


def exit_code(report: dict[str, Any]) -> int:
    """0 marked, 3 no mark but the face looks swapped, 1 neither (2, bad input, is UserError's)."""
    if report["found"]:
        return 0
    detector = report.get("detector")
    return 3 if detector and detector["state"] == "swapped" else 1


def _detector_line(detector: dict[str, Any], marked: bool, span: str) -> str:
    """The detector's verdict; it adds to the mark's and never overrides it."""
    judged, flagged = detector["windows_judged"], detector["windows_flagged"]
    if detector["state"] == "cannot judge":
        return f"swap detector: cannot judge: {detector['why']}"
    share = "" if span == "the image" else f" in {100 * flagged / judged:.0f} % of {judged} {span}"
    if detector["state"] == "swapped":
        lead = "the face looks swapped too" if marked else "no mark, but the face looks swapped"
        return f"swap detector: {lead} (score {detector['score']:.2f}{share})"
    over = "" if span == "the image" else f"{flagged} of {judged} {span} over it; "
    return f"swap detector: the face does not look swapped (score {detector['score']:.2f}; {over}threshold {detector['threshold']:.2f})"


def _manifest_line(c2pa: dict[str, Any] | None | str) -> str:
    if c2pa is None:
        return "C2PA: no manifest"
    if isinstance(c2pa, str):
        return f"C2PA: {c2pa}"
    if not c2pa.get("actions"):
        return f"C2PA: manifest unreadable or broken ({'; '.join(c2pa['problems'])})"
    actions = ", ".join(f"{a['action']} ({a['digitalSourceType'] or 'no source type'})" for a in c2pa["actions"])
    state = "signature and content hashes valid" if c2pa["valid"] else f"INVALID: {', '.join(c2pa['problems'])}"
    trust = "signer trusted" if c2pa["trusted"] else "signer not in a trust list (give --trust ROOTS.pem)"
    altered = "says AI-altered" if c2pa["ai_altered"] else "does not say AI-altered"
    issuer = f" ({c2pa['issuer']})" if c2pa["issuer"] else ""  # the certificate's organisation, when it names one
    return f"C2PA: signed by {c2pa['signed_by']!r}{issuer}; {altered}: {actions}; {state}; {trust}"
