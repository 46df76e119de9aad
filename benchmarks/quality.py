"""Quality: how real the output of ``swapcam live`` looks, scored frame by frame against its input.

Runs the real pipeline (:func:`swapcam.realtime.run.live.run_live`, what ``swapcam live`` runs, over a
folder of lossless frames, every frame processed) for each case and scores it with
:mod:`benchmarks.quality_metrics`. Cases:

* synthetic (always; ``--quick`` runs only these): the shipped demo model, which renders the
  synthetic identity bo, over bo (a self-swap) and over ada (a cross swap);
* real clips of ../shared/media when present: a self-swap model per clip of
  :data:`benchmarks.quality_data.SELF_SWAP_CLIPS`, over its held-out 20 % and over the camera clips;
  and the demo model over the camera clips (what ``swapcam live`` without ``--model`` shows a real face);
* any clip given with ``--clip``: a self-swap of its last 20 % by a model trained on its first 80 %.

Writes the scores to results.json/.md and a contact sheet (input | output, three frames a case, the
scores written on it) to OUT/quality_sheet.png; outputs of real people stay in OUT, never committed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from swapcam.export.identity import identity_share

from . import quality_data, quality_metrics
from .common import Results
from .quality_data import Case, QualityData, read_frames, write_frames

SYNTHETIC_SIZE = "640x480"
SYNTHETIC_SELF = "synthetic:identity=bo,seed=5"  # the demo model's own identity, motion never trained on
SYNTHETIC_CAMERA = "synthetic:identity=ada,seed=7"  # the demo's camera person
SYNTHETIC_SOURCE = "synthetic:identity=bo,seed=2"  # reference pictures of bo for the identity measure
SYNTHETIC_OCCLUDED = "synthetic:identity=bo,seed=5,occluder=hand"  # a hand covers a quarter to 40 % of the face
IDENTITY_EVERY = 3  # descriptors cost ~0.1 s a face: every third frame


@dataclass
class Analysis:
    """FaceMesh (and optionally dlib) on a sequence of frames."""

    landmarks: list[np.ndarray | None]
    poses: list[tuple[float, float, float] | None]

    def face(self, t: int) -> np.ndarray:
        """The landmarks of frame ``t``, one where a face was found."""
        points = self.landmarks[t]
        assert points is not None, f"no face in frame {t}"
        return points


def analyse(frames: list[np.ndarray]) -> Analysis:
    """FaceMesh in tracking mode (as on a video), the largest face; head pose from the landmarks."""
    from swapcam.export.faceset import head_pose
    from swapcam.realtime.sources.synthetic import FaceTemplate
    from swapcam.realtime.stages.detect import DetectSettings, MediapipeDetector, choose_faces

    vertices = FaceTemplate.load().vertices
    detector = MediapipeDetector(DetectSettings())
    landmarks, poses = [], []
    try:
        for image in frames:
            faces = choose_faces(detector(image), image.shape[:2], "largest")
            points = faces[0] if faces else None
            landmarks.append(points)
            size = (image.shape[1], image.shape[0])
            poses.append(None if points is None else head_pose(points, size, vertices))
    finally:
        detector.close()
    return Analysis(landmarks, poses)


def _cached_analysis(folder: Path, frames: list[np.ndarray]) -> Analysis:
    path = folder.with_name(folder.name + ".landmarks.npz")
    if path.exists():
        with np.load(path) as data:
            found, points, poses = data["found"], data["points"], data["poses"]
        return Analysis(
            [p if f else None for f, p in zip(found, points, strict=True)],
            [tuple(q) if f else None for f, q in zip(found, poses, strict=True)],
        )
    analysis = analyse(frames)
    found = np.array([p is not None for p in analysis.landmarks])
    points = np.stack([p if p is not None else np.zeros((468, 2), np.float32) for p in analysis.landmarks])
    poses = np.array([q if q is not None else (0.0, 0.0, 0.0) for q in analysis.poses])
    np.savez(path, found=found, points=points, poses=poses)
    return analysis


def run_pipeline(case: Case, live_args: list[str]) -> list[np.ndarray]:
    """The output frames of ``swapcam live --input images:FRAMES --model M LIVE_ARGS`` (unlabelled)."""
    from swapcam.realtime.cli import build_parser, live_config
    from swapcam.realtime.run.live import LiveRun, run_live

    args = build_parser().parse_args(["live", "--label", "", "--fps", str(case.fps), *live_args])
    outputs: list[np.ndarray] = []
    run_live(
        LiveRun(
            input=f"images:{case.frames}",
            model=case.model,
            output="null",
            config=live_config(args),
            on_output=lambda result: outputs.append(result.image.copy()),
        ),
        log=lambda line: None,
    )
    return outputs


class IdentityJudge:
    """dlib descriptors of source references and camera frames, computed once per run."""

    def __init__(self):
        from swapcam.export.identity import FaceDescriber

        self.describer = FaceDescriber()
        self._references: dict[str, np.ndarray] = {}

    def reference(self, name: str, frames: list[np.ndarray], analysis: Analysis) -> np.ndarray:
        if name not in self._references:
            picks = [t for t, p in enumerate(analysis.landmarks) if p is not None]
            picks = picks[:: max(1, len(picks) // 20)][:20]
            self._references[name] = self.describer.reference(
                [frames[t] for t in picks], [analysis.face(t) for t in picks]
            )
        return self._references[name]

    def score(
        self, inputs, outputs, input_analysis: Analysis, output_analysis: Analysis, source: np.ndarray
    ) -> dict[str, float]:
        frames = [
            t
            for t in range(0, len(inputs), IDENTITY_EVERY)
            if input_analysis.landmarks[t] is not None and output_analysis.landmarks[t] is not None
        ]
        if not frames:
            return {}
        out = np.stack([self.describer.describe(outputs[t], output_analysis.face(t)) for t in frames])
        cam = np.stack([self.describer.describe(inputs[t], input_analysis.face(t)) for t in frames])
        share, to_source, to_camera = identity_share(out, source, cam)
        return {"identity_share": share, "dist_source": to_source, "dist_camera": to_camera}


def synthetic_cases(cache: Path, frames: int) -> tuple[list[Case], dict[str, Path]]:
    """The demo model over synthetic bo (self) and ada (cross), and where bo's reference frames are."""
    from swapcam.realtime.run.demo import DEMO_MODEL
    from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo

    def folder(spec: str, count: int) -> Path:
        settings = SyntheticSettings.from_spec(spec.partition(":")[2] + f",size={SYNTHETIC_SIZE}")
        path = (
            cache / "frames" / f"{spec.replace(':', '_').replace('=', '-').replace(',', '_')}_{SYNTHETIC_SIZE}_{count}"
        )
        if not path.exists():
            video = SyntheticVideo(settings)
            rendered = [video.frame(i) for i in range(count)]
            path.parent.mkdir(parents=True, exist_ok=True)  # a new cache: the occluders are saved first
            if settings.occluder != "none":
                np.save(
                    path.with_name(path.name + ".occluders.npy"),
                    np.stack([f.occluder for f in rendered if f.occluder is not None]),
                )
            write_frames([f.image for f in rendered], path)
        return path

    occluded = folder(SYNTHETIC_OCCLUDED, max(frames, 90))
    cases = [
        Case("synthetic bo self", "self", "bo", "bo", folder(SYNTHETIC_SELF, frames), DEMO_MODEL, 30.0),
        Case("synthetic ada→bo", "cross", "bo", "ada", folder(SYNTHETIC_CAMERA, frames), DEMO_MODEL, 30.0),
        Case(
            "synthetic bo + hand",
            "self",
            "bo",
            "bo",
            occluded,
            DEMO_MODEL,
            30.0,
            occluded.with_name(occluded.name + ".occluders.npy"),
        ),
    ]
    return cases, {"bo": folder(SYNTHETIC_SOURCE, 40)}


def score_case(
    case: Case, live_args: list[str], judge: IdentityJudge | None, source_frames: Path | None, limit: int | None
) -> tuple[dict[str, float], list[np.ndarray], list[np.ndarray], Analysis]:
    inputs = read_frames(case.frames)
    input_analysis = _cached_analysis(case.frames, inputs)  # of every frame: the cache serves any limit
    inputs = inputs[:limit]
    outputs = run_pipeline(case, live_args + (["--max-frames", str(limit)] if limit else []))
    inputs = inputs[: len(outputs)]
    input_analysis = Analysis(input_analysis.landmarks[: len(outputs)], input_analysis.poses[: len(outputs)])
    output_analysis = analyse(outputs)
    scores = quality_metrics.score_sequence(
        inputs,
        outputs,
        input_analysis.landmarks,
        output_analysis.landmarks,
        input_analysis.poses,
        output_analysis.poses,
        fidelity=case.kind == "self",
    )
    if case.occluders is not None:
        truth = np.load(case.occluders)[: len(outputs)]
        scores["occluder_error"] = quality_metrics.occluder_error(inputs, outputs, truth, input_analysis.landmarks)
    if case.kind == "cross" and judge is not None and source_frames is not None:
        reference_frames = read_frames(source_frames)
        reference = judge.reference(case.source, reference_frames, _cached_analysis(source_frames, reference_frames))
        scores.update(judge.score(inputs, outputs, input_analysis, output_analysis, reference))
    return scores, inputs, outputs, input_analysis


def run(
    quick: bool, live_args: list[str], clips: list[str], cache: Path, out: Path, only: Sequence[str] = (), log=print
) -> Results:
    limit = 30 if quick else None
    cases, source_frames = synthetic_cases(cache, 30 if quick else 120)
    data = QualityData(cache, log=log)

    def wanted(name: str) -> bool:
        return not only or any(text in name for text in only)

    cases = [case for case in cases if wanted(case.name)]
    if not quick:
        real = data.available()
        sources = tuple(c for c in quality_data.SELF_SWAP_CLIPS if c in real)
        cameras = tuple(c for c in quality_data.CAMERA_CLIPS if c in real)
        real_cases = data.cases(sources, cameras, wanted)
        cases += real_cases
        source_frames.update({case.source: data.source_frames(case.source) for case in real_cases})
        # the demo renders bo: its reference frames are the synthetic ones above
        cases += [data.demo_case(camera) for camera in cameras if wanted(f"demo→{camera}")]
        cases += [data.clip_case(Path(clip)) for clip in clips]
    judge = IdentityJudge() if _identity_available() else None
    results: Results = {"live_args": live_args, "identity": judge is not None, "cases": {}}
    sheet_rows = []
    for case in cases:
        log(f"quality: {case.name}")
        scores, inputs, outputs, analysis = score_case(case, live_args, judge, source_frames.get(case.source), limit)
        results["cases"][case.name] = {"kind": case.kind, "model": case.model.name, **_rounded(scores)}
        sheet_rows.append((case.name, scores, inputs, outputs, analysis.landmarks))
    results["summary"] = summarise(results["cases"])
    from .quality_sheet import contact_sheet

    contact_sheet(sheet_rows, out / "quality_sheet.png")
    return results


def _identity_available() -> bool:
    from swapcam.export.identity import available

    return available()


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}


SUMMARY = {  # measure → (which cases, target, True when higher is better)
    "psnr_db": ("self", None, True),
    "ssim": ("self", None, True),
    "landmark_error": ("all", 0.04, False),
    "mouth_r": ("all", 0.9, True),
    "eye_r": ("all", 0.8, True),
    "pose_error_deg": ("all", None, False),
    "seam_delta_e": ("all", 1.0, False),
    "flicker": ("all", (0.9, 1.1), None),
    "color_jitter": ("all", None, False),
    "identity_share": ("cross", 0.9, True),
    "occluder_error": ("self", None, False),
    "sharpness_face": ("all", 0.8, True),
    "sharpness_eyes": ("all", 0.7, True),
}


def summarise(cases: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Medians over the real clips (and over the synthetic cases, apart), per measure."""
    summary = {}
    for group in ("real", "synthetic"):
        chosen = {n: c for n, c in cases.items() if n.startswith("synthetic") == (group == "synthetic")}
        row = {}
        for measure, (kinds, _, _) in SUMMARY.items():
            values = [
                c[measure]
                for c in chosen.values()
                if measure in c and (kinds == "all" or c["kind"] == kinds) and not np.isnan(c[measure])
            ]
            if values:
                row[measure] = round(statistics.median(values), 4)
        if row:
            summary[group] = row
    return summary


COLUMNS = (
    ("psnr_db", "PSNR dB", 2),
    ("ssim", "SSIM", 3),
    ("landmark_error", "lmk err", 3),
    ("mouth_r", "mouth r", 2),
    ("eye_r", "eye r", 2),
    ("pose_error_deg", "pose °", 2),
    ("seam_delta_e", "seam ΔE", 2),
    ("flicker", "flicker", 2),
    ("color_jitter", "colour jitter", 2),
    ("identity_share", "identity", 2),
    ("occluder_error", "occluder err", 1),
    ("sharpness_face", "detail face", 2),
    ("sharpness_eyes", "detail eyes", 2),
)


def _cell(row: dict, key: str, digits: int) -> str:
    value = row.get(key)
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def markdown(results: Results) -> list[str]:
    header = "| case | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [header, "|---|" + "---|" * len(COLUMNS)]
    for name, row in results["cases"].items():
        lines.append(f"| {name} | " + " | ".join(_cell(row, k, d) for k, _, d in COLUMNS) + " |")
    for group, row in results["summary"].items():
        lines.append(f"| **median, {group}** | " + " | ".join(_cell(row, k, d) for k, _, d in COLUMNS) + " |")
    if not results["identity"]:
        lines += ["", "Identity not measured: install the identity extra (pip install 'swapcam[identity]')."]
    return lines
