"""Finding the faces FaceMesh's own detector misses (small, far from the camera, in group photos) and
meshing each in a crop of its own; the detect stage (detect.py) decides when.

FaceMesh looks for faces with mediapipe's short-range detector (128x128 input, faces within about
2 m): a 40-px face in a 500-px group photo is 10 px by the time the model sees it, and goes unseen.
Here, with the models inside the mediapipe wheel only:

1. :class:`FaceSearch` runs mediapipe's full-range face detector (``model_selection=1``, 192x192
   input) on a region of the frame: the whole frame, or one tile of a grid of overlapping tiles
   (:func:`search_regions`), which enlarges small faces by the grid's factor before the model sees
   them. :func:`merge_boxes` keeps one box per face.
2. :class:`CropMesh` cuts a square crop around a face (:data:`BOX_MARGIN` × a detection box's side,
   or :data:`MESH_MARGIN` × the span of its last landmarks; :func:`crop_matrix`), scales it to
   :data:`CROP` pixels (a 37-px face becomes about 128 px), runs FaceMesh on it and maps the 468
   landmarks back to frame pixels (:func:`to_frame`). FaceMesh finding a face in the crop is also
   what confirms a detection. In static mode it keeps the face nearest the crop's centre.
3. :class:`RegionTrack` follows one such face through a video: FaceMesh in tracking mode on a crop
   that stays put while the face stays in it (the landmark model only, about 3.5 ms for a 256-px crop
   on a 2-core EPYC; its detector runs again on the crop when the track weakens), moved onto the face
   with a fresh FaceMesh when the face has drifted or changed size.
"""

from __future__ import annotations

import cv2
import numpy as np

from .landmarks import FACE_OVAL

CROP = 256  # pixels of the square crop FaceMesh runs on
BOX_MARGIN = 2.0  # crop side / detection box side: the face fills half the crop
MESH_MARGIN = 2.0  # crop side / the face outline's larger span: on dlib's photos 1.0x (0.8–1.2x) the box's crop
TILE_OVERLAP = 1.25  # a tile is this much larger than the grid's step, so a face on a seam is whole in one
SAME_FACE_IOU = 0.3  # boxes overlapping more than this are one face
DRIFT = 0.15  # a tracked face whose centre moved this share of its crop's side gets a new crop
ZOOM = 1.3  # … and so does one whose size changed more than this many times

Box = tuple[float, float, float, float, float]  # x, y, width, height (frame pixels), detector score


def search_regions(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) regions to search: the whole frame first, then a grid of overlapping tiles,
    2x2 up to 800 px on the longer side and 3x3 beyond (each enlarges faces 1.6x or 2.4x)."""
    grid = 2 if max(height, width) <= 800 else 3
    regions = [(0, 0, width, height)]
    tile_w, tile_h = min(width, round(width / grid * TILE_OVERLAP)), min(height, round(height / grid * TILE_OVERLAP))
    for y0 in np.linspace(0, height - tile_h, grid).round().astype(int):
        for x0 in np.linspace(0, width - tile_w, grid).round().astype(int):
            regions.append((int(x0), int(y0), int(x0) + tile_w, int(y0) + tile_h))
    return regions


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x, y, width, height, …) boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """One box per face, the most confident first: a box overlapping a kept one (IoU above
    :data:`SAME_FACE_IOU`, or its centre inside it) is the same face seen from another region."""
    kept: list[Box] = []
    for box in sorted(boxes, key=lambda b: -b[4]):
        if not any(box_iou(box, k) > SAME_FACE_IOU or _inside(_centre(box), k) for k in kept):
            kept.append(box)
    return kept


def landmark_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, width, height) of (K, 2) pixel landmarks."""
    low, high = points.min(0), points.max(0)
    return float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])


def _centre(box: tuple[float, ...]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _inside(point: tuple[float, float], box: tuple[float, ...]) -> bool:
    return box[0] <= point[0] <= box[0] + box[2] and box[1] <= point[1] <= box[1] + box[3]


def covers(face: np.ndarray, box: tuple[float, ...]) -> bool:
    """Whether the face of (468, 2) landmarks is the one in ``box`` (x, y, w, h, …): the box's centre
    lies inside the landmarks' box, or the boxes overlap more than :data:`SAME_FACE_IOU`."""
    mine = landmark_box(face)
    return _inside(_centre(box), mine) or box_iou(mine, box) > SAME_FACE_IOU


def same_face(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two (468, 2) landmark sets are one face (either one's box centre inside the other's)."""
    return covers(a, landmark_box(b)) or covers(b, landmark_box(a))


def crop_matrix(centre: tuple[float, float], side: float, size: int = CROP) -> np.ndarray:
    """(2, 3) float64 frame → crop matrix of the square of ``side`` frame pixels around ``centre``,
    scaled to ``size`` pixels."""
    scale = size / side
    return np.array([[scale, 0.0, size / 2 - scale * centre[0]], [0.0, scale, size / 2 - scale * centre[1]]])


def to_frame(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(K, 2) crop pixels → (K, 2) float32 frame pixels, through the inverse of the frame → crop
    ``matrix`` (2, 3)."""
    inverse = cv2.invertAffineTransform(matrix)
    return (points @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32)


def box_crop(box: tuple[float, ...]) -> tuple[tuple[float, float], float]:
    """The crop (centre, side) around a detection box (x, y, w, h, …)."""
    return _centre(box), BOX_MARGIN * max(box[2], box[3])


def landmark_crop(points: np.ndarray) -> tuple[tuple[float, float], float]:
    """The crop (centre, side) around a face's (468, 2) landmarks, from its outline."""
    outline = landmark_box(points[FACE_OVAL])
    return _centre(outline), MESH_MARGIN * max(outline[2], outline[3])


class FaceSearch:
    """mediapipe's full-range face detector over one region of a frame at a time."""

    def __init__(self, min_confidence: float):
        import mediapipe as mp

        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        )

    def __call__(self, frame: np.ndarray, region: tuple[int, int, int, int]) -> list[Box]:
        """frame (H, W, 3) uint8 BGR, region (x0, y0, x1, y1) → the faces' boxes in frame pixels."""
        x0, y0, x1, y1 = region
        rgb = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        boxes = []
        for detection in self._detector.process(rgb).detections or ():
            b = detection.location_data.relative_bounding_box
            w, h = x1 - x0, y1 - y0
            boxes.append((x0 + b.xmin * w, y0 + b.ymin * h, b.width * w, b.height * h, float(detection.score[0])))
        return boxes

    def close(self) -> None:
        self._detector.close()


class CropMesh:
    """FaceMesh on a square crop of the frame, its landmarks mapped back to frame pixels. ``static``:
    every crop is searched anew and the face nearest its centre is kept; otherwise FaceMesh tracks the
    one face of the crop from one call to the next."""

    def __init__(self, min_confidence: float, min_tracking: float, static: bool):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=2 if static else 1,
            refine_landmarks=False,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_tracking,
        )
        self._rgb = np.empty((CROP, CROP, 3), np.uint8)

    def __call__(self, frame: np.ndarray, centre: tuple[float, float], side: float) -> np.ndarray | None:
        """frame (H, W, 3) uint8 BGR → (468, 2) float32 frame pixels of the face in the crop, or None."""
        matrix = crop_matrix(centre, side)
        crop = cv2.warpAffine(frame, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        cv2.cvtColor(crop, cv2.COLOR_BGR2RGB, dst=self._rgb)
        found = self._mesh.process(self._rgb).multi_face_landmarks or ()
        faces = [np.array([(p.x, p.y) for p in face.landmark[:468]], np.float32) * CROP for face in found]
        if not faces:
            return None
        middle = np.array([CROP / 2, CROP / 2], np.float32)
        nearest = min(faces, key=lambda f: float(np.linalg.norm(f.mean(0) - middle)))
        return to_frame(nearest, matrix)

    def close(self) -> None:
        self._mesh.close()


def drifted(crop: tuple[tuple[float, float], float], face: tuple[tuple[float, float], float]) -> bool:
    """Whether a face's crop (centre, side) has left the crop it is tracked in: its centre moved more
    than :data:`DRIFT` of the side, or its side changed by more than :data:`ZOOM` times."""
    (cx, cy), side = crop
    (fx, fy), face_side = face
    return bool(np.hypot(fx - cx, fy - cy) > DRIFT * side or not 1 / ZOOM <= face_side / side <= ZOOM)


class RegionTrack:
    """One face the search found, followed through a video in a crop of its own. The crop stays put
    while the face stays in it (FaceMesh tracking mode follows the face inside, as it would on the
    whole frame), and moves onto the face, with a fresh FaceMesh, once it has :func:`drifted`."""

    def __init__(self, min_confidence: float, min_tracking: float, box: tuple[float, ...]):
        self._confidence = (min_confidence, min_tracking)
        self._mesh = CropMesh(*self._confidence, static=False)
        self._crop = box_crop(box)

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        """The face's (468, 2) float32 landmarks in this frame, or None once it is lost."""
        landmarks = self._mesh(frame, *self._crop)
        if landmarks is not None and drifted(self._crop, landmark_crop(landmarks)):
            self._mesh.close()  # its tracking state is in the old crop's pixels
            self._mesh = CropMesh(*self._confidence, static=False)
            self._crop = landmark_crop(landmarks)
        return landmarks

    def close(self) -> None:
        self._mesh.close()
