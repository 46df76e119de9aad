import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from swapcam.export.extract import ExtractSettings, extract
from swapcam.export.faceset import Faceset, head_pose
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.sources.synthetic import FaceTemplate, SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.align import align_matrix, transform_points
from swapcam.realtime.stages.warp import crop_aligned

SYNTH = "synthetic:identity=ada,size=480x320,seed=2"
SETTINGS = ExtractSettings(resolution=128, count=6, dedupe=0.0, min_face=32)


def test_extract_saves_aligned_crops_identical_to_live_crops(tmp_path):
    summary = extract([SYNTH], tmp_path / "fs", SETTINGS, progress=False)
    assert summary.faces_saved == 6
    faceset = Faceset(tmp_path / "fs")
    assert faceset.info.resolution == 128 and len(faceset) == 6
    record = faceset.records[0]
    assert record.source == SYNTH and record.landmarks.shape == (468, 2)
    # the crop equals what the live loop would crop from the same frame and landmarks
    from swapcam.realtime.stages.detect import DetectSettings, MediapipeDetector

    frame = SyntheticVideo(SyntheticSettings.from_spec(SYNTH.partition(":")[2])).frame(record.frame).image
    landmarks = MediapipeDetector(DetectSettings())(frame)[0]
    matrix = align_matrix(landmarks, 128, SETTINGS.coverage)
    live_crop = crop_aligned(frame, matrix, 128)
    saved = faceset.image(0)
    assert np.abs(saved.astype(int) - live_crop.astype(int)).mean() < 3  # JPEG q95 only
    np.testing.assert_allclose(record.landmarks, transform_points(matrix, landmarks), atol=0.06)
    mask = faceset.mask(0)
    assert mask.shape == (128, 128) and mask[64, 64] == 255 and mask[0, 0] == 0


def test_corrupt_input_is_counted_and_rerun_adds_without_clobbering(tmp_path):
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x01" * 5000)
    out = tmp_path / "fs"
    first = extract([f"file:{corrupt}", SYNTH], out, SETTINGS, progress=False)
    assert first.skipped["unreadable_input"] == 1 and first.faces_saved == 6
    before = {p.name: p.stat().st_mtime_ns for p in (out / "faces").iterdir()}
    second = extract([SYNTH, "synthetic:identity=bo,size=480x320,seed=2"], out, SETTINGS, progress=False)
    # the endless input skips the 6 faces it already gave and adds 6 new ones; "bo" adds 6
    assert second.skipped["already_in_faceset"] == 6 and second.faces_saved == 12
    after = {p.name: p.stat().st_mtime_ns for p in (out / "faces").iterdir()}
    assert all(after[name] == t for name, t in before.items())  # nothing overwritten
    assert len(Faceset(out)) == 18


def test_images_folder_with_a_corrupt_photo(tmp_path):
    video = SyntheticVideo(SyntheticSettings(size="480x320"))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in (0, 40):
        cv2.imwrite(str(photos / f"{i}.jpg"), video.frame(i).image)
    (photos / "bad.jpg").write_bytes(b"nope")
    summary = extract([f"images:{photos}"], tmp_path / "fs", SETTINGS, progress=False)
    assert summary.faces_saved == 2 and summary.skipped["unreadable_frames"] == 1
    assert {r.source for r in Faceset(tmp_path / "fs").records} == {"photos"}  # a name, not a path


def test_faceset_settings_must_match_to_add(tmp_path):
    extract([SYNTH], tmp_path / "fs", SETTINGS, progress=False)
    with pytest.raises(UserError, match="was made with"):
        extract([SYNTH], tmp_path / "fs", SETTINGS.replace(coverage=1.8), progress=False)
    with pytest.raises(UserError, match="not a faceset"):
        Faceset(tmp_path)


@pytest.mark.parametrize("pose", [(0, 0, 0), (25, 0, 0), (-20, 10, 0), (0, -15, 12), (15, 12, -15)])
def test_head_pose_matches_synthetic_truth(pose):
    video = SyntheticVideo(SyntheticSettings(size="640x360"))
    frame = video.render(pose, {})
    estimate = head_pose(frame.landmarks, (640, 360), FaceTemplate.load().vertices)
    np.testing.assert_allclose(estimate, pose, atol=4.0)


def test_extract_cli_reports_and_fails_cleanly(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "swapcam.realtime.cli", "extract", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = run("--input", SYNTH, "--count", "3", "--resolution", "128", "--out", str(tmp_path / "fs"), "--no-progress")
    assert ok.returncode == 0, ok.stderr
    assert "faces saved 3" in ok.stderr
    assert json.loads((tmp_path / "fs" / "faceset.json").read_text())["resolution"] == 128
    bad = run("--input", f"file:{tmp_path}/none.mp4", "--out", str(tmp_path / "fs2"), "--no-progress")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "no faces were saved" in bad.stderr
