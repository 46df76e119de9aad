"""Detection: how well the swap detector tells swapped faces from real ones (``python -m benchmarks
--only detection``; 40-60 minutes on two cores the first time, most of it making swaps and crops,
cached in ``~/.cache/swapcam-detection``, never in the repository).

Input: the real clips of ``../shared/media`` (first 12 s of each, one person a clip), each swapped by
two models through ``swapcam live`` (label and mark off: the mark-washed-out case):

* ``demo``: the shipped demo model; the shipped detector trained on its swaps of synthetic people;
* ``live``: a ``live``-preset int8 model (the shipped base fine-tuned 40 iterations on synthetic cyd
  onto ada) that no detector here ever saw.

Every clip, real and swapped, is scored clean, after H.264 at 1 Mbit/s and half size (a call), and
after JPEG 70. A window's score is the mean over the faces of 1 s (every third frame). Detectors:

* ``shipped``: ``realtime/data/detector.onnx`` (synthetic people, their self-blends and demo swaps);
* ``sbi-only``: the same recipe with self-blended fakes only (never saw a swap);
* ``lopo``: leave one person out: for each person, the shipped weights fine-tuned on the *other*
  people's real faces, self-blends and demo swaps; it scores the person it never saw.

Figures: window AUC (real windows against swapped ones), the share of swapped windows caught at the
score that flags 1 % of real windows (ROC, pooled over people), and at the detector's own threshold
the share of real windows flagged (false positives) and of swapped ones caught. Cost: CPU ms a face.
The contact sheet (``CACHE/detection_sheet.png``, real faces: keep it local) shows the highest-scored
real faces and the lowest-scored ``live`` swaps of the leave-one-person-out detectors.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from swapcam.export.detector.build import FIRST_SEED, Training, add, synthetic_sets
from swapcam.export.detector.clips import encode, read_frames
from swapcam.export.detector.crops import CropSet
from swapcam.export.detector.fit import FitSettings, fit, threshold_at, window_means
from swapcam.export.detector.fit import scores as torch_scores
from swapcam.export.detector.net import DetectorNet
from swapcam.export.detector.sets import ClipSets, clip_sets
from swapcam.export.detector.settings import DetectorSettings
from swapcam.realtime.cli import main as swapcam
from swapcam.realtime.provenance.detector import DETECTOR_MODEL, SwapDetector
from swapcam.realtime.run.demo import DEMO_MODEL

from .common import Results
from .quality_data import ROOT

MEDIA = ROOT.parent / "shared" / "media"
CACHE = Path.home() / ".cache" / "swapcam-detection"
CLIPS = {name: f"liveportrait-driving/{name}.mp4" for name in ("d3", "d6", "d9", "d10", "d12", "d14")}
CLIPS["s20"] = "liveportrait-source/s20.mp4"
CLIP_SECONDS = 12.0
VARIANTS = ("clean", "h264_1m_half", "jpeg70")
FOLD = FitSettings(iterations=80, batch=32, lr=5e-4, seed=1)  # a fine-tune of the shipped weights per person
SBI_ITERATIONS = 250
SHEET_FACES = 8


def auc(real: np.ndarray, fake: np.ndarray) -> float:
    """Chance that a random fake window scores above a random real one (ties count half)."""
    if not len(real) or not len(fake):
        return float("nan")
    greater = (fake[:, None] > real[None, :]).mean()
    ties = (fake[:, None] == real[None, :]).mean()
    return float(greater + 0.5 * ties)


def caught_at_fpr(real: np.ndarray, fake: np.ndarray, rate: float = 0.01) -> float:
    """Share of fake windows above the score that flags ``rate`` of the real windows."""
    return float((fake > np.quantile(real, 1.0 - rate)).mean()) if len(real) and len(fake) else float("nan")


def _trimmed(name: str, work: Path) -> Path:
    """The clip's first CLIP_SECONDS, re-encoded near-losslessly (the swaps are made from this copy too)."""
    out = work / "clips" / f"{name}.mp4"
    if not out.exists():
        frames, fps = read_frames(MEDIA / CLIPS[name])
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(f"{name}.part.mp4")
        encode(frames[: round(CLIP_SECONDS * fps)], fps, str(part))
        part.replace(out)
    return out


def live_model(work: Path) -> Path:
    """The ``live`` int8 model no detector saw: synthetic cyd on ada, 40 iterations from the base (a few minutes on a shared CPU)."""
    folder = work / "live"
    out = folder / "live_int8.onnx"
    if out.exists():
        return out
    # fmt: off
    for name, seed in (("cyd", 11), ("ada", 12)):
        if not (folder / name / "faceset.json").exists():
            _run(["extract", "--input", f"synthetic:identity={name},size=640x480,seed={seed}", "--count", "300",
                  "--resolution", "256", "--out", str(folder / name), "--no-progress"])
    _run(["train", "--source", str(folder / "cyd"), "--target", str(folder / "ada"), "--preset", "live",
          "--iterations", "40", "--out", str(folder / "run"), "--no-progress"])
    _run(["export", str(folder / "run"), "--out", str(out), "--precision", "int8", "--faceset", str(folder / "cyd"),
          "--consent", "synthetic identities only (benchmark model)", "--force"])
    # fmt: on
    return out


def _run(args: list[str]) -> None:
    if swapcam(args):
        raise SystemExit(f"swapcam {' '.join(args)} failed")


def people(work: Path) -> dict[str, ClipSets]:
    models = {"demo": DEMO_MODEL, "live": live_model(work)}
    return {name: clip_sets(_trimmed(name, work), name, work, models, VARIANTS, step=3) for name in CLIPS}


def _windows(score, crops: CropSet) -> tuple[np.ndarray, np.ndarray]:
    """(window scores, frame scores) of one crop set under ``score`` (crops → frame scores)."""
    frame = score(crops.crops) if len(crops.crops) else np.zeros(0, np.float32)
    return (window_means(frame, crops.windows()) if len(frame) else np.zeros(0)), frame


def score_people(score, sets: dict[str, ClipSets], only: str | None = None) -> dict[str, np.ndarray]:
    """kind.variant → window scores, pooled over people (``only``: that person)."""
    out: dict[str, list[np.ndarray]] = {}
    for name, clip in sets.items():
        if only and name != only:
            continue
        for variant in VARIANTS:
            out.setdefault(f"real.{variant}", []).append(_windows(score, clip.real[variant])[0])
            for model in ("demo", "live"):
                out.setdefault(f"{model}.{variant}", []).append(_windows(score, clip.swaps[(model, variant)])[0])
    return {key: np.concatenate(parts) for key, parts in out.items()}


def figures(windows: dict[str, np.ndarray], threshold: float) -> Results:
    """AUC, caught at 1 % false windows, and the detector's own threshold's rates, per variant."""
    out: Results = {"threshold": round(threshold, 4)}
    for variant in VARIANTS:
        real = windows[f"real.{variant}"]
        row: Results = {"real_windows": len(real), "false_positive": round(float((real >= threshold).mean()), 4)}
        for model in ("demo", "live"):
            fake = windows[f"{model}.{variant}"]
            row[model] = {
                "windows": len(fake),
                "auc": round(auc(real, fake), 4),
                "caught_at_1pct_fpr": round(caught_at_fpr(real, fake), 4),
                "caught_at_threshold": round(float((fake >= threshold).mean()), 4),
            }
        out[variant] = row
    return out


def _merge(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _calibrated(score, training: Training) -> float:
    return threshold_at(np.concatenate([_windows(score, s)[0] for s in training.calibration if len(s.crops)]))


def _synthetic(work: Path) -> Training:
    settings = DetectorSettings()
    seeds = range(FIRST_SEED, FIRST_SEED + settings.people)
    calibration = range(seeds.stop, seeds.stop + settings.calibration)
    training = add(Training(), synthetic_sets(work / "train", seeds, settings.frames_each, {"demo": DEMO_MODEL}))
    return add(training, synthetic_sets(work / "train", calibration, settings.frames_each, {}), calibration=True)


def _net_score(net: DetectorNet):
    return lambda crops: torch_scores(net, crops)


def lopo(work: Path, sets: dict[str, ClipSets], synthetic: Training) -> tuple[Results, list, list]:
    """Leave one person out: per person, the shipped weights fine-tuned on everyone else."""
    start = torch.load(work / "train" / "detector.pt")
    windows, per_person, worst_real, worst_fake = [], {}, [], []
    for name in sets:
        others = [clip for other, clip in sets.items() if other != name]
        training = add(Training(list(synthetic.real), [], synthetic.calibration), others)
        # the others' demo swaps only: the live model stays unseen
        training.swaps = synthetic.swaps + [c.swaps[("demo", v)] for c in others for v in VARIANTS]
        net = fit(training.real, training.swaps, FOLD, start, progress=True)
        score = _net_score(net)
        threshold = _calibrated(score, training)
        mine = score_people(score, sets, only=name)
        windows.append(mine)
        per_person[name] = {"threshold": round(threshold, 4), **_person_row(mine, threshold)}
        worst_real += _extremes(score, sets[name].real["clean"], name, highest=True)
        worst_fake += _extremes(score, sets[name].swaps[("live", "clean")], name, highest=False)
    pooled = figures(_merge(windows), float(np.median([p["threshold"] for p in per_person.values()])))
    return {"pooled": pooled, "people": per_person}, worst_real, worst_fake


def _person_row(windows: dict[str, np.ndarray], threshold: float) -> Results:
    real = windows["real.clean"]
    return {
        "auc_live_clean": round(auc(real, windows["live.clean"]), 4),
        "auc_live_call": round(auc(windows["real.h264_1m_half"], windows["live.h264_1m_half"]), 4),
        "false_positive_clean": round(float((real >= threshold).mean()), 4),
        "caught_live_clean": round(float((windows["live.clean"] >= threshold).mean()), 4),
    }


def _extremes(score, crops: CropSet, name: str, highest: bool) -> list[tuple[float, str, np.ndarray]]:
    frame = _windows(score, crops)[1]
    order = np.argsort(-frame if highest else frame)[:SHEET_FACES]
    return [(float(frame[i]), f"{name} f{int(crops.frames[i])}", crops.crops[i]) for i in order]


def contact_sheet(real: list, fake: list, path: Path) -> Path:
    """Two rows: the highest-scored real faces, the lowest-scored swaps, with their scores."""
    rows = []
    for faces in (sorted(real, key=lambda f: -f[0])[:SHEET_FACES], sorted(fake, key=lambda f: f[0])[:SHEET_FACES]):
        tiles = []
        for value, label, crop in faces:
            tile = cv2.resize(crop, (160, 160))
            cv2.putText(tile, f"{value:.2f} {label}", (3, 154), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
            tiles.append(tile)
        tiles += [np.zeros((160, 160, 3), np.uint8)] * (SHEET_FACES - len(tiles))
        rows.append(np.hstack(tiles))
    cv2.imwrite(str(path), np.vstack(rows))
    return path


def cost(detector: SwapDetector, crops: np.ndarray, bursts: int = 5, runs: int = 40) -> Results:
    """CPU ms to score one face (2 onnxruntime threads), in short bursts: median of the burst medians."""
    medians = []
    for b in range(bursts):
        times = []
        for k in range(runs):
            one = crops[(b * runs + k) % len(crops)][None]
            start = time.perf_counter()
            detector.scores(one)
            times.append(1000 * (time.perf_counter() - start))
        medians.append(float(np.median(times)))
        time.sleep(0.5)  # a shared machine: spread the bursts out
    return {"ms_per_face_median": round(float(np.median(medians)), 2), "ms_per_face_best_burst": round(min(medians), 2)}


def run(quick: bool) -> Results:
    detector = SwapDetector(DETECTOR_MODEL)
    synthetic_face = np.random.default_rng(0).integers(0, 255, (8, 128, 128, 3), np.uint8)
    results: Results = {"card": detector.card}
    if quick or not MEDIA.exists():
        results["cost"] = cost(detector, synthetic_face, bursts=2, runs=10)
        results["skipped"] = "quick run" if quick else f"{MEDIA} is absent"
        return results
    work = CACHE
    sets = people(work)
    results["cost"] = cost(detector, sets["d9"].real["clean"].crops)
    results["shipped"] = figures(score_people(detector.scores, sets), detector.threshold)
    _keep(results, work)
    synthetic = _synthetic(work)
    results["lopo"], real, fake = lopo(work, sets, synthetic)
    results["sheet"] = str(contact_sheet(real, fake, work / "detection_sheet.png"))
    _keep(results, work)
    sbi_net = fit(synthetic.real, [], replace(FitSettings(), iterations=SBI_ITERATIONS, swap_share=0.0))
    sbi = _net_score(sbi_net)
    results["sbi_only"] = figures(score_people(sbi, sets), _calibrated(sbi, synthetic))
    return results


def _keep(results: Results, work: Path) -> None:
    """What is measured so far (a long run that is stopped keeps it)."""
    (work / "partial.json").write_text(json.dumps(results, indent=1, default=str))


def markdown(results: Results) -> list[str]:
    lines = [
        f"Cost: {results['cost']['ms_per_face_median']} ms a face (median of bursts; best burst "
        f"{results['cost']['ms_per_face_best_burst']} ms), detector alone, 2 onnxruntime threads."
    ]
    if "skipped" in results:
        return [*lines, f"Skipped the rest: {results['skipped']}."]
    lines += [
        "",
        "| detector | variant | real windows | AUC demo | caught@1% demo | AUC live | caught@1% live | "
        "flagged real @thr | caught live @thr |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ("shipped", "sbi_only", "lopo"):
        if key not in results:
            continue
        table = results[key]["pooled"] if key == "lopo" else results[key]
        for variant in VARIANTS:
            row = table[variant]
            lines.append(
                f"| {key} (thr {table['threshold']:.2f}) | {variant} | {row['real_windows']} | {row['demo']['auc']:.3f} | "
                f"{row['demo']['caught_at_1pct_fpr']:.0%} | {row['live']['auc']:.3f} | "
                f"{row['live']['caught_at_1pct_fpr']:.0%} | {row['false_positive']:.1%} | "
                f"{row['live']['caught_at_threshold']:.0%} |"
            )
    lines += ["", "| left out | AUC live clean | AUC live call | flagged real | caught live |", "|---|---|---|---|---|"]
    for name, row in results["lopo"]["people"].items():
        lines.append(
            f"| {name} | {row['auc_live_clean']:.3f} | {row['auc_live_call']:.3f} | "
            f"{row['false_positive_clean']:.1%} | {row['caught_live_clean']:.0%} |"
        )
    return lines
