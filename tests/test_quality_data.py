"""The quality benchmark's data: clip splits, frame folders and case selection (no training here:
the model the cases need is put in the cache beforehand)."""

import shutil

import cv2
import numpy as np

from benchmarks.quality_data import PRECISION, TRAIN_SHARE, QualityData, read_frames, recipe_key, write_frames


def _clip(path, frames=20, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 10 * k, np.uint8))
    writer.release()


def test_frames_round_trip_losslessly(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for _ in range(3)]
    folder = write_frames(frames, tmp_path / "f")
    assert [p.name for p in sorted(folder.iterdir())] == ["000000.png", "000001.png", "000002.png"]
    for a, b in zip(frames, read_frames(folder), strict=True):
        np.testing.assert_array_equal(a, b)


def test_cases_take_only_the_chosen_ones_and_train_nothing_cached(tmp_path, inverting_model_path):
    media, cache = tmp_path / "media", tmp_path / "cache"
    media.mkdir()
    for name in ("d6", "d9", "d3"):
        _clip(media / f"{name}.mp4")
    model = cache / "models" / f"d6-{recipe_key()}" / f"d6_{PRECISION}.onnx"
    model.parent.mkdir(parents=True)
    shutil.copy(inverting_model_path, model)
    data = QualityData(cache, media, log=lambda line: None)
    cases = data.cases(("d6",), ("d9", "d3"), wanted=lambda name: name in ("d6 self", "d6→d3"))
    assert [(c.name, c.kind, c.source, c.camera) for c in cases] == [
        ("d6 self", "self", "d6", "d6"),
        ("d6→d3", "cross", "d6", "d3"),
    ]
    assert all(c.model == model and c.fps == 25.0 for c in cases)
    held_out = len(read_frames(cases[0].frames))
    assert held_out == 20 - round(20 * TRAIN_SHARE) == 4
    assert not (cache / "frames" / "d9").exists()  # a case not chosen costs nothing
    assert data.cases(("d6",), ("d9",), wanted=lambda name: False) == []
    assert not (cache / "facesets").exists()  # nothing was extracted or trained
