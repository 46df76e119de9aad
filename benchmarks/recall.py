"""Recall: how many faces of dlib's annotated group photos the detector finds, and how well it places
their landmarks (``python -m benchmarks --only recall``).

Input: ``../shared/media/dlib-faces`` (9 PASCAL-VOC photos, 43 faces, most 37–45 px wide): per photo,
boxes with the 68 iBUG 300-W landmarks in 0-based pixels (training_ and
testing_with_face_landmarks.xml). Each photo is read at its own size (``swapcam live --input images:``
resizes them all to the first one's) and given to the detect stage's detector as photos are
(``static``, ``--max-faces 8``):

* **before**: ``facemesh``, FaceMesh alone on the whole photo (the tracker path in static mode);
* **after**: ``mediapipe``, FaceMesh and the full-range search (realtime/stages/face_search.py).

Rule for found: an annotated face is found when a detected face's landmarks (the 68 points mapped
from its 468, :data:`MP_TO_68`) have a bounding box overlapping the annotated box with IoU ≥ 0.3;
faces are paired one to one, the largest overlaps first. A detected face paired with no annotation
is counted as ``extra`` (a false alarm, or a face dlib's annotators left out).

Landmark error: for each found face, the mean distance between the 68 mapped points and the
annotated ones divided by the annotation's inter-ocular distance (outer eye corners, points 36 and
45), over all 68 points and over the 51 inner ones (the jaw line, 0–16, maps loosely onto FaceMesh's
outline); median and p90 over the faces, and the same on the faces both detectors find.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from swapcam.realtime.core.quiet import quiet_libraries
from swapcam.realtime.stages.detect import DETECTORS, Detector, DetectSettings
from swapcam.realtime.stages.face_search import box_iou, landmark_box

from .common import Results
from .quality_data import ROOT

DLIB = ROOT.parent / "shared" / "media" / "dlib-faces"
ANNOTATIONS = ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml")
MATCH_IOU = 0.3
SMALL_FACE = 37  # px: a photo with an annotated face at least this wide must not pass through faceless
MAX_FACES = 8

# The 68 iBUG 300-W points as FaceMesh indices (468-point topology); a pair is averaged. The usual
# correspondence (e.g. github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks).
# fmt: off
MP_TO_68: tuple[tuple[int, ...], ...] = (
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),  # jaw, image left to chin
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),  # jaw, chin to image right
    (70,), (63,), (105,), (66,), (107,),  # the person's right brow, outer to inner
    (336,), (296,), (334,), (293,), (300,),  # left brow, inner to outer
    (168, 6), (197, 195), (5,), (4,),  # nose bridge, top to tip
    (75,), (97,), (2,), (326,), (305,),  # nostrils
    (33,), (160,), (158,), (133,), (153,), (144,),  # right eye from its outer corner
    (362,), (385,), (387,), (263,), (373,), (380,),  # left eye from its inner corner
    (61,), (39,), (37,), (0,), (267,), (269,), (291,),  # outer lip, upper, corner to corner
    (321,), (314,), (17,), (84,), (91,),  # outer lip, lower
    (78,), (82,), (13,), (312,), (308,),  # inner lip, upper
    (317,), (14,), (87,),  # inner lip, lower
)
# fmt: on
INNER = slice(17, 68)  # brows, nose, eyes, lips


@dataclass(frozen=True)
class Face:
    """One annotated face: its box (x, y, width, height) and its (68, 2) float32 landmarks."""

    box: tuple[float, float, float, float]
    points: np.ndarray

    @property
    def inter_ocular(self) -> float:
        return float(np.linalg.norm(self.points[36] - self.points[45]))


@dataclass(frozen=True)
class Photo:
    file: str
    width: int
    height: int
    faces: tuple[Face, ...]


def parse_annotations(text: str) -> list[Photo]:
    """dlib's imglab XML (``<image file width height><box top left width height><part name x y/>``)
    → the photos with their faces, points in the order of their ``name``. Boxes marked
    ``ignore='1'`` are left out."""
    photos = []
    for image in ET.fromstring(text).iter("image"):
        faces = []
        for box in image.iter("box"):
            if box.get("ignore") == "1":
                continue
            parts = sorted(box.iter("part"), key=lambda p: int(p.get("name", "0")))
            points = np.array([(float(p.get("x", 0)), float(p.get("y", 0))) for p in parts], np.float32)
            corner = tuple(float(box.get(k, 0)) for k in ("left", "top", "width", "height"))
            faces.append(Face((corner[0], corner[1], corner[2], corner[3]), points))
        photos.append(
            Photo(image.get("file", ""), int(image.get("width", 0)), int(image.get("height", 0)), tuple(faces))
        )
    return photos


def to_68(landmarks: np.ndarray) -> np.ndarray:
    """(468, 2) FaceMesh landmarks → (68, 2) float32 iBUG 300-W points (:data:`MP_TO_68`)."""
    return np.array([landmarks[list(ids)].mean(0) for ids in MP_TO_68], np.float32)


def match(faces: tuple[Face, ...], found: list[np.ndarray]) -> list[int | None]:
    """For each annotated face, the index of the detected (68, 2) face paired with it (or None):
    one to one, the largest overlaps first, IoU ≥ :data:`MATCH_IOU`."""
    pairs = sorted(
        (
            (box_iou(face.box, landmark_box(points)), i, j)
            for i, face in enumerate(faces)
            for j, points in enumerate(found)
        ),
        reverse=True,
    )
    paired: list[int | None] = [None] * len(faces)
    taken: set[int] = set()
    for overlap, i, j in pairs:
        if overlap >= MATCH_IOU and paired[i] is None and j not in taken:
            paired[i] = j
            taken.add(j)
    return paired


def landmark_error(points: np.ndarray, face: Face) -> tuple[float, float]:
    """Mean point distance / inter-ocular distance over the 68 points and over the 51 inner ones."""
    distance = np.linalg.norm(points - face.points, axis=1) / max(face.inter_ocular, 1e-6)
    return float(distance.mean()), float(distance[INNER].mean())


def score(detect: Callable[[np.ndarray], list[np.ndarray]], photos: list[Photo], folder: Path) -> Results:
    """One detector over the photos: per photo the faces found, extras, ms, each face's error."""
    per_photo: Results = {}
    for photo in photos:
        image = cv2.imread(str(folder / photo.file))
        if image is None:
            raise RuntimeError(f"cannot read {folder / photo.file}")
        start = time.perf_counter()
        found = [to_68(landmarks) for landmarks in detect(image)]
        ms = (time.perf_counter() - start) * 1e3
        paired = match(photo.faces, found)
        errors = [
            None if j is None else landmark_error(found[j], face) for face, j in zip(photo.faces, paired, strict=True)
        ]
        per_photo[photo.file] = {
            "annotated": len(photo.faces),
            "found": sum(j is not None for j in paired),
            "detected": len(found),
            "extra": len(found) - sum(j is not None for j in paired),
            "ms": round(ms, 1),
            "errors": [None if e is None else [round(e[0], 4), round(e[1], 4)] for e in errors],
            "smallest_px": min(min(f.box[2], f.box[3]) for f in photo.faces) if photo.faces else None,
        }
    return per_photo


def summary(per_photo: Results, common: list[tuple[str, int]]) -> Results:
    """Totals and error statistics of one detector; ``common``: (photo, face) both detectors found."""
    errors = np.array([e for p in per_photo.values() for e in p["errors"] if e is not None]).reshape(-1, 2)
    shared = np.array([per_photo[f]["errors"][i] for f, i in common]).reshape(-1, 2)

    def stats(values: np.ndarray) -> dict[str, float | None]:
        if not len(values):
            return {"median": None, "p90": None}
        return {"median": round(float(np.median(values)), 4), "p90": round(float(np.percentile(values, 90)), 4)}

    annotated = sum(p["annotated"] for p in per_photo.values())
    found = sum(p["found"] for p in per_photo.values())
    return {
        "found": found,
        "annotated": annotated,
        "recall": round(found / max(annotated, 1), 3),
        "extra": sum(p["extra"] for p in per_photo.values()),
        "faceless_photos": [
            f for f, p in per_photo.items() if p["detected"] == 0 and (p["smallest_px"] or 0) >= SMALL_FACE
        ],
        "ms_per_photo": round(float(np.median([p["ms"] for p in per_photo.values()])), 1),
        "error_68": stats(errors[:, 0]),
        "error_inner": stats(errors[:, 1]),
        "error_68_common": stats(shared[:, 0]),
        "error_inner_common": stats(shared[:, 1]),
    }


def detectors() -> dict[str, Callable[[], Detector]]:
    """The detectors compared, by label: made fresh for the run (static, as for photos)."""
    settings = DetectSettings(max_faces=MAX_FACES)
    return {
        "before": lambda: DETECTORS.get("facemesh")(settings, True),
        "after": lambda: DETECTORS.get("mediapipe")(settings, True),
    }


def run(quick: bool, folder: Path = DLIB) -> Results:
    files = [folder / name for name in ANNOTATIONS]
    if not all(f.is_file() for f in files):
        return {"skipped": f"the annotated photos are not there ({folder}: see ../shared/media/README.md)"}
    photos = [photo for f in files for photo in parse_annotations(f.read_text(encoding="iso-8859-1"))]
    if quick:
        photos = photos[:2]
    per_detector: Results = {}
    with quiet_libraries():
        for label, make in detectors().items():
            detector = make()
            try:
                per_detector[label] = score(detector, photos, folder)
            finally:
                detector.close()
    both = [
        (f, i)
        for f, p in per_detector["before"].items()
        for i, e in enumerate(p["errors"])
        if e is not None and per_detector["after"][f]["errors"][i] is not None
    ]
    return {
        "photos": len(photos),
        "rule": f"found: IoU(annotated box, box of the 68 mapped landmarks) >= {MATCH_IOU}, one to one",
        **{label: {"summary": summary(p, both), "photos": p} for label, p in per_detector.items()},
    }


def _error(stats: Results) -> str:
    return "–" if stats["median"] is None else f"{stats['median']:.3f} / {stats['p90']:.3f}"


def markdown(results: Results) -> list[str]:
    if "skipped" in results:
        return [f"Skipped: {results['skipped']}."]
    lines = [
        f"{results['photos']} photos; {results['rule']}. Error: mean point distance / inter-ocular "
        "distance, median / p90 over the faces found (common: the faces both find).",
        "",
        "| detector | found / annotated | extra | photos ≥ 37 px with no face | error 68 | error inner 51 "
        "| error 68 (common) | error inner 51 (common) | ms / photo |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in ("before", "after"):
        s = results[label]["summary"]
        lines.append(
            f"| {label} | {s['found']} / {s['annotated']} ({s['recall']:.0%}) | {s['extra']} | "
            f"{', '.join(s['faceless_photos']) or 'none'} | {_error(s['error_68'])} | {_error(s['error_inner'])} | "
            f"{_error(s['error_68_common'])} | {_error(s['error_inner_common'])} | {s['ms_per_photo']} |"
        )
    lines += [
        "",
        "| photo | annotated | smallest px | found before | found after | extra after |",
        "|---|---|---|---|---|---|",
    ]
    for name, before in results["before"]["photos"].items():
        after = results["after"]["photos"][name]
        lines.append(
            f"| {name} | {before['annotated']} | {before['smallest_px']:.0f} | {before['found']} | "
            f"{after['found']} | {after['extra']} |"
        )
    return lines
