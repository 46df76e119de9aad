"""The detect stage's search for small and far faces (realtime/stages/face_search.py and the
``mediapipe`` detector): crops mapped back to the frame, and real mediapipe on synthetic faces
rendered small in a large frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from swapcam.realtime.core.quiet import quiet_libraries
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages import detect
from swapcam.realtime.stages.detect import DETECTORS, DetectSettings
from swapcam.realtime.stages.face_search import (
    CropMesh,
    covers,
    crop_matrix,
    drifted,
    landmark_crop,
    merge_boxes,
    same_face,
    search_regions,
    to_frame,
)

SMALL = 0.3  # a 640x360 synthetic frame shrunk to this: its face about 35 px wide in a 1280x720 frame
AT = (700, 400)  # where the shrunk frame goes


def test_crop_matrix_and_to_frame_map_crop_pixels_back_to_the_frame():
    matrix = crop_matrix((100.0, 50.0), side=64.0, size=256)  # 4x: the square 68..132, 18..82
    np.testing.assert_allclose(matrix, [[4, 0, -272], [0, 4, -72]])
    crop_points = np.array([[128, 128], [0, 0], [256, 256], [64, 192]], np.float32)
    frame_points = to_frame(crop_points, matrix)
    np.testing.assert_allclose(frame_points, [[100, 50], [68, 18], [132, 82], [84, 66]], atol=1e-5)
    assert frame_points.dtype == np.float32
    # and the way back, as cv2 applies the matrix to the frame
    np.testing.assert_allclose(cv2.transform(frame_points[None], matrix)[0], crop_points, atol=1e-4)


def test_search_regions_are_the_frame_then_overlapping_tiles_that_cover_it():
    regions = search_regions(375, 500)
    assert regions[0] == (0, 0, 500, 375) and len(regions) == 5  # 2x2 tiles up to 800 px
    assert {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in regions[1:]} == {(312, 234)}
    assert regions[1][:2] == (0, 0) and regions[-1][2:] == (500, 375)
    wide = search_regions(720, 1280)
    assert len(wide) == 10 and wide[-1][2:] == (1280, 720)  # 3x3 beyond
    covered = np.zeros((720, 1280), bool)
    for x0, y0, x1, y1 in wide[1:]:
        covered[y0:y1, x0:x1] = True
    assert covered.all()


def _face(x: float, y: float, size: float) -> np.ndarray:
    """(468, 2) landmarks spread over a size × size square at (x, y)."""
    return np.random.default_rng(0).uniform(0, size, (468, 2)).astype(np.float32) + (x, y)


def test_boxes_and_faces_are_told_apart():
    boxes = [(10, 10, 40, 40, 0.6), (14, 12, 38, 40, 0.9), (200, 10, 40, 40, 0.7), (22, 22, 10, 10, 0.8)]
    assert merge_boxes(boxes) == [(14, 12, 38, 40, 0.9), (200, 10, 40, 40, 0.7)]  # best first, one a face
    face = _face(10, 10, 40)
    assert covers(face, (20, 20, 20, 20)) and not covers(face, (100, 10, 40, 40))
    assert same_face(face, _face(15, 12, 36)) and not same_face(face, _face(60, 10, 40))


def test_a_tracked_face_gets_a_new_crop_once_it_drifts_or_changes_size():
    crop = ((100.0, 100.0), 80.0)
    assert not drifted(crop, ((105.0, 103.0), 85.0))
    assert drifted(crop, ((115.0, 100.0), 80.0))  # 15 px is more than 0.15 of 80
    assert drifted(crop, ((100.0, 100.0), 110.0)) and drifted(crop, ((100.0, 100.0), 55.0))


def _small_face_frames(count: int, motion: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(1280x720 frame, (468, 2) true landmarks) with a synthetic person about 35 px wide."""
    video = SyntheticVideo(SyntheticSettings(size="640x360", motion=motion))
    frames = []
    for index in range(count):
        shot = video.frame(index)
        small = cv2.resize(shot.image, None, fx=SMALL, fy=SMALL, interpolation=cv2.INTER_AREA)
        frame = np.full((720, 1280, 3), 90, np.uint8)
        frame[AT[1] : AT[1] + small.shape[0], AT[0] : AT[0] + small.shape[1]] = small
        frames.append((frame, (shot.landmarks * SMALL + AT).astype(np.float32)))
    return frames


def _error(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(found - truth, axis=1).mean())


def test_a_small_face_in_a_photo_is_found_by_the_search_and_not_by_facemesh_alone():
    frame, truth = _small_face_frames(1, motion=0.0)[0]
    settings = DetectSettings(max_faces=8)
    with quiet_libraries():
        alone, searched = DETECTORS.get("facemesh")(settings, True), DETECTORS.get("mediapipe")(settings, True)
        try:
            assert alone(frame) == []
            faces = searched(frame)
        finally:
            alone.close()
            searched.close()
    assert len(faces) == 1 and faces[0].shape == (468, 2) and faces[0].dtype == np.float32
    assert _error(faces[0], truth) < 1.5  # px, on a face 35 px wide (measured 0.4)


def test_a_crop_mesh_maps_its_landmarks_back_onto_the_face_in_the_frame():
    shot = SyntheticVideo(SyntheticSettings(size="640x360", motion=0.0)).frame(0)
    with quiet_libraries():
        mesh = CropMesh(0.5, 0.5, static=True)
        try:
            found = mesh(shot.image, *landmark_crop(shot.landmarks))
            off_face = mesh(shot.image, (40.0, 40.0), 60.0)  # the background in a corner
        finally:
            mesh.close()
    assert found is not None and _error(found, shot.landmarks) < 3.0  # px, face about 115 px wide
    assert off_face is None


def test_a_small_face_in_a_video_is_found_and_followed_in_its_own_crop():
    frames = _small_face_frames(30)
    with quiet_libraries():
        detector = DETECTORS.get("mediapipe")(DetectSettings(), False)
        try:
            found = [detector(frame) for frame, _ in frames]
        finally:
            detector.close()
    assert len(found[0]) == 1  # the first frame short of a face is searched (the whole frame first)
    followed = [faces[0] for faces in found if len(faces) == 1]
    assert len(followed) >= 27 and all(len(faces) <= 1 for faces in found)
    errors = [_error(faces[0], truth) for faces, (_, truth) in zip(found, frames, strict=True) if faces]
    assert np.median(errors) < 1.5


def test_a_video_short_of_faces_searches_tile_by_tile_and_adds_the_far_face():
    """A near face tracked by FaceMesh and a far one in the bottom-right corner, two faces asked
    for: the search looks at one region a frame (face_search_every=1 here) and reaches the corner's
    tile, the last of 1 + 3x3, on frame 9; from then on both faces come every frame."""
    near = SyntheticVideo(SyntheticSettings(size="1280x720", motion=0.3))
    far = SyntheticVideo(SyntheticSettings(identity="bo", size="640x360", motion=0.5, seed=2))
    counts = []
    with quiet_libraries():
        detector = DETECTORS.get("mediapipe")(DetectSettings(max_faces=2, face_search_every=1), False)
        try:
            for index in range(16):
                frame = near.frame(index).image.copy()
                small = cv2.resize(far.frame(index).image, None, fx=SMALL, fy=SMALL, interpolation=cv2.INTER_AREA)
                frame[560 : 560 + small.shape[0], 1050 : 1050 + small.shape[1]] = small
                counts.append(len(detector(frame)))
        finally:
            detector.close()
    assert counts[:9] == [1] * 9 and counts[9:] == [2] * 7


class _NoSearch:
    def __init__(self, *_args):
        raise AssertionError("the full-range search ran")


def test_one_tracked_face_in_a_video_costs_facemesh_alone_and_nothing_more(monkeypatch):
    """The default live path (one face asked for, one tracked) runs the whole frame's FaceMesh and not
    one search: the same landmarks as ``facemesh``, and no full-range detector is ever made."""
    monkeypatch.setattr(detect, "FaceSearch", _NoSearch)
    video = SyntheticVideo(SyntheticSettings(size="640x360"))
    with quiet_libraries():
        alone, default = DETECTORS.get("facemesh")(DetectSettings(), False), detect.make_detector(DetectSettings())
        try:
            for index in range(12):
                image = video.frame(index).image
                mine, theirs = default(image), alone(image)
                assert len(mine) == 1 and np.array_equal(mine[0], theirs[0])
        finally:
            alone.close()
            default.close()


def test_a_video_is_not_searched_with_face_search_every_0(monkeypatch):
    monkeypatch.setattr(detect, "FaceSearch", _NoSearch)
    frame, _ = _small_face_frames(1)[0]
    with quiet_libraries():
        detector = DETECTORS.get("mediapipe")(DetectSettings(max_faces=2, face_search_every=0), False)
        try:
            assert [len(detector(frame)) for _ in range(3)] == [0, 0, 0]
        finally:
            detector.close()


def test_a_large_face_in_a_photo_is_one_face_not_two():
    """The search's crop and the whole frame's FaceMesh find the same face: it is returned once."""
    shot = SyntheticVideo(SyntheticSettings(size="640x360", motion=0.0)).frame(0)
    with quiet_libraries():
        detector = DETECTORS.get("mediapipe")(DetectSettings(max_faces=8), True)
        try:
            faces = detector(shot.image)
        finally:
            detector.close()
    assert len(faces) == 1 and _error(faces[0], shot.landmarks) < 3.0


@pytest.mark.parametrize("key", ["face_search_every", "detector"])
def test_config_files_of_today_still_load(key):
    """New fields have defaults: a [detect] section without them loads, and they load when given."""
    from swapcam.realtime.core.settings import from_sources

    old = from_sources(DetectSettings, config={"detect": {"max_faces": 2, "choose": "all"}})
    assert old.face_search_every == 6 and old.detector == "mediapipe"
    given = {"face_search_every": 0, "detector": "facemesh"}[key]
    assert getattr(from_sources(DetectSettings, config={"detect": {key: given}}), key) == given
