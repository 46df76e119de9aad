"""``swapcam extract``: aligned face crops for training, made with the live pipeline's own detect and
align code, so training crops and live crops are the same."""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.settings import Settings, setting
from swapcam.realtime.sources.base import CaptureSettings
from swapcam.realtime.sources.capture import input_kind, open_source
from swapcam.realtime.sources.synthetic import FaceTemplate
from swapcam.realtime.stages.align import align_matrix, transform_points
from swapcam.realtime.stages.detect import DetectSettings, MediapipeDetector, choose_faces, face_size
from swapcam.realtime.stages.warp import crop_aligned

from .faceset import FaceRecord, FacesetInfo, FacesetWriter, head_pose


@dataclass(frozen=True)
class ExtractSettings(Settings):
    section = "extract"
    resolution: int = setting(256, "crop size in pixels (at least twice the model resolution)", low=64, high=1024)
    coverage: float = setting(2.2, "alignment coverage of the crops (the model card records it)", low=1.0, high=4.0)
    y_offset: float = setting(0.0, "vertical offset of the crops in template units", low=-0.5, high=0.5)
    every: int = setting(1, "use every Nth frame of each input", low=1)
    min_face: int = setting(64, "skip faces smaller than this (landmark box diagonal, pixels)", low=0)
    max_faces: int = setting(1, "faces to take per frame, largest first", low=1, high=8)
    # Aligned landmarks only move with expression and pose (alignment removes head motion), so
    # the threshold is small: 0.01 kept 33 of 1008 frames of a real talking-head clip.
    dedupe: float = setting(
        0.003,
        "skip a face whose aligned landmarks moved less than this fraction of the "
        "crop since the last saved face of that input (0 = keep all)",
        low=0.0,
        high=1.0,
    )
    count: int = setting(300, "faces to capture from endless inputs (camera, synthetic)", low=1)


def source_label(spec: str) -> str:
    """What a faceset records as a face's source: a file or folder name, never a path."""
    _, kind = input_kind(spec)
    if kind.path:
        argument = spec.partition(":")[2]
        return Path(argument).name or argument
    return spec


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:60] or "input"


@dataclass
class ExtractSummary:
    frames_read: int = 0
    faces_saved: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)  # reason → count

    def lines(self) -> list[str]:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return [f"frames read {self.frames_read}, faces saved {self.faces_saved}", f"skipped: {skipped}"]


def extract(
    inputs: list[str], out: str | Path, settings: ExtractSettings = ExtractSettings(), progress: bool = True
) -> ExtractSummary:
    """Detect, align and save faces from every input into the faceset ``out``.

    An input that cannot be opened or read is counted (``unreadable_input``) and skipped, so one
    broken file never loses the rest of a long extraction.
    """
    writer = FacesetWriter(out, FacesetInfo(settings.resolution, settings.coverage, settings.y_offset))
    vertices = FaceTemplate.load().vertices
    summary = ExtractSummary()
    try:
        for spec in inputs:
            _extract_one(spec, writer, settings, vertices, summary, progress)
    finally:
        writer.close()
    return summary


def _extract_one(
    spec: str,
    writer: FacesetWriter,
    settings: ExtractSettings,
    vertices: np.ndarray,
    summary: ExtractSummary,
    progress: bool,
) -> None:
    _, kind = input_kind(spec)  # an unknown kind is a typo in the command: say so
    try:
        source = open_source(spec, CaptureSettings(pace="every"))
    except UserError as err:
        if kind.endless:
            raise  # no camera, a bad synthetic spec: nothing else to extract from it, say why
        summary.skipped["unreadable_input"] += 1
        tqdm.write(f"swapcam extract: skipping {spec}: {err}")
        return
    endless = kind.endless
    detector = MediapipeDetector(DetectSettings(max_faces=settings.max_faces), static=kind.still_images)
    label, prefix = source_label(spec), slug(source_label(spec))
    total = settings.count if endless else source.length
    bar = tqdm(total=total, desc=label[:30], unit="face" if endless else "frame", disable=not progress)
    last_saved: np.ndarray | None = None
    saved_here = 0
    try:
        while not (endless and saved_here >= settings.count):
            frame = source.read()
            if frame is None:
                break
            summary.frames_read += 1
            if not endless:
                bar.update(1)
            if frame.index % settings.every:
                continue
            height, width = frame.image.shape[:2]
            faces = choose_faces(detector(frame.image), (height, width), "all")[: settings.max_faces]
            if not faces:
                summary.skipped["no_face"] += 1
            for k, landmarks in enumerate(faces):
                name = f"{prefix}_{frame.index:06d}_{k}"
                if face_size(landmarks) < settings.min_face:
                    summary.skipped["too_small"] += 1
                    continue
                if writer.exists(name):
                    summary.skipped["already_in_faceset"] += 1
                    continue
                matrix = align_matrix(landmarks, settings.resolution, settings.coverage, settings.y_offset)
                aligned = transform_points(matrix, landmarks)
                if k == 0 and last_saved is not None and settings.dedupe > 0:
                    moved = np.abs(aligned - last_saved).mean() / settings.resolution
                    if moved < settings.dedupe:
                        summary.skipped["near_duplicate"] += 1
                        continue
                crop = crop_aligned(frame.image, matrix, settings.resolution)
                yaw, pitch, roll = head_pose(landmarks, (width, height), vertices)
                writer.add(crop, FaceRecord(name, label, frame.index, k, yaw, pitch, roll, aligned))
                summary.faces_saved += 1
                saved_here += 1
                if k == 0:
                    last_saved = aligned
                if endless:
                    bar.update(1)
        if source.unreadable:
            summary.skipped["unreadable_frames"] += source.unreadable
    finally:
        bar.close()
        source.close()
        detector.close()
