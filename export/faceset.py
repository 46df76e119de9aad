"""Facesets: folders of aligned face crops that training reads.

Layout of a faceset folder::

    faceset.json          {"format": 1, "resolution": 256, "coverage": 2.2, "y_offset": 0.0}
    faces/NAME.jpg        aligned crop, resolution × resolution, BGR, JPEG quality 95
    masks/NAME.png        landmark-hull mask of the face outline, 8-bit, same size
    faces.jsonl           one JSON record per face, appended as faces are saved:
        {"name": NAME, "source": "clip.mp4", "frame": 12, "face": 0,
         "yaw": -4.1, "pitch": 2.0, "roll": 0.5,          head pose in degrees
         "landmarks": [[x, y], …]}                          468 points in crop pixels, 0.1 px

``source`` is the input's file or folder name (never a full path), ``synthetic:…`` spec, or
``camera:N``. Records are appended, so extracting into an existing faceset adds faces; a face whose
name already exists is skipped, never overwritten. All crops of a faceset share one resolution,
coverage and offset, given by ``faceset.json`` (a faceset with different ones is refused).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.landmarks import FACE_OVAL
from swapcam.realtime.stages.mask import hull_mask

FORMAT = 1
JPEG_QUALITY = 95


@dataclass(frozen=True)
class FacesetInfo:
    resolution: int
    coverage: float
    y_offset: float


@dataclass(frozen=True)
class FaceRecord:
    name: str
    source: str
    frame: int
    face: int
    yaw: float
    pitch: float
    roll: float
    landmarks: np.ndarray  # (468, 2) float32, crop pixels

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in ("name", "source", "frame", "face")}
        data.update({k: round(float(getattr(self, k)), 2) for k in ("yaw", "pitch", "roll")})
        data["landmarks"] = np.round(self.landmarks.astype(np.float64), 1).tolist()
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> FaceRecord:
        data = json.loads(line)
        data["landmarks"] = np.asarray(data["landmarks"], np.float32)
        return cls(**data)


class FacesetWriter:
    """Appends faces to a faceset folder (created on first use)."""

    def __init__(self, folder: str | Path, info: FacesetInfo):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"{self.folder} is a file, not a faceset folder: choose another --out")
        (self.folder / "faces").mkdir(parents=True, exist_ok=True)
        (self.folder / "masks").mkdir(exist_ok=True)
        meta = self.folder / "faceset.json"
        wanted = {"format": FORMAT, "resolution": info.resolution, "coverage": info.coverage, "y_offset": info.y_offset}
        if meta.exists():
            existing = json.loads(meta.read_text())
            if existing != wanted:
                raise UserError(
                    f"faceset {self.folder} was made with {existing}, not {wanted}: "
                    "extract into a new folder or use the same --resolution/--coverage/--y-offset"
                )
        else:
            meta.write_text(json.dumps(wanted) + "\n")
        self.info = info
        self._records = (self.folder / "faces.jsonl").open("a")

    def exists(self, name: str) -> bool:
        return (self.folder / "faces" / f"{name}.jpg").exists()

    def add(self, crop: np.ndarray, record: FaceRecord) -> None:
        """crop: (R, R, 3) uint8 BGR aligned face; record: its metadata (landmarks in crop pixels)."""
        mask = hull_mask(record.landmarks[FACE_OVAL], self.info.resolution)
        cv2.imwrite(str(self.folder / "masks" / f"{record.name}.png"), (mask * 255).astype(np.uint8))
        cv2.imwrite(str(self.folder / "faces" / f"{record.name}.jpg"), crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        # the record goes last: a crash mid-face leaves an image without a record, which readers ignore
        self._records.write(record.to_json() + "\n")
        self._records.flush()

    def close(self) -> None:
        self._records.close()


class Faceset:
    """A faceset opened for reading: its info, records, and image/mask loading."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        meta = self.folder / "faceset.json"
        if not meta.is_file():
            raise UserError(f"{self.folder} is not a faceset (no faceset.json): make one with swapcam extract")
        data = json.loads(meta.read_text())
        if data.get("format") != FORMAT:
            raise UserError(f"faceset {self.folder} has format {data.get('format')}, this swapcam reads {FORMAT}")
        self.info = FacesetInfo(data["resolution"], data["coverage"], data["y_offset"])
        self.records = list(self._read_records())
        if not self.records:
            raise UserError(f"faceset {self.folder} has no faces: extract some first")

    def _read_records(self) -> Iterator[FaceRecord]:
        path = self.folder / "faces.jsonl"
        if not path.exists():
            return
        seen = set()
        for line in path.read_text().splitlines():
            try:
                record = FaceRecord.from_json(line)
            except (ValueError, TypeError, KeyError):
                continue  # a line cut short by a crash
            if record.name not in seen and (self.folder / "faces" / f"{record.name}.jpg").exists():
                seen.add(record.name)
                yield record

    def __len__(self) -> int:
        return len(self.records)

    def image(self, index: int) -> np.ndarray:
        """(R, R, 3) uint8 BGR crop of face ``index``."""
        return cv2.imread(str(self.folder / "faces" / f"{self.records[index].name}.jpg"), cv2.IMREAD_COLOR)

    def mask(self, index: int) -> np.ndarray:
        """(R, R) uint8 hull mask of face ``index``."""
        return cv2.imread(str(self.folder / "masks" / f"{self.records[index].name}.png"), cv2.IMREAD_GRAYSCALE)

    def counts(self) -> dict[str, Any]:
        return {"faces": len(self.records), "sources": len({r.source for r in self.records})}


def head_pose(landmarks: np.ndarray, frame_size: tuple[int, int], vertices: np.ndarray) -> tuple[float, float, float]:
    """Rough (yaw, pitch, roll) in degrees from 468 landmarks, by PnP against a 3D face template.

    landmarks: (468, 2) float pixels; frame_size: (W, H); vertices: (468, 3) template (x right, y down,
    z away from the camera). Signs follow :mod:`swapcam.realtime.sources.synthetic`: yaw > 0 turns the nose
    towards image right, pitch > 0 tilts it up, roll > 0 rotates the face clockwise in the image.
    Good to a few degrees: enough to balance poses in training, not a measurement.
    """
    width, height = frame_size
    focal = 0.9 * max(width, height)
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float64)
    ok, rvec, _ = cv2.solvePnP(
        vertices.astype(np.float64),
        landmarks.astype(np.float64),
        camera,
        None,  # type: ignore[call-overload]  # cv2 stubs: None (no distortion) is valid
        flags=cv2.SOLVEPNP_SQPNP,
    )
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    forward = rotation @ np.array([0.0, 0.0, -1.0])  # the face's outward normal in camera space
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    right = rotation @ np.array([1.0, 0.0, 0.0])
    roll = math.degrees(math.atan2(right[1], right[0]))
    return yaw, pitch, roll
