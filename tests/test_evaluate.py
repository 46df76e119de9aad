"""swapcam evaluate: reconstruction PSNR of a model on held-out faces, over the faceset's hull masks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest

from swapcam.export.evaluate import evaluate, faces_from_faceset, masks_from_faceset
from swapcam.realtime.contract import ModelCard
from swapcam.realtime.errors import UserError
from swapcam.realtime.testmodel import build_inverting_model


def test_psnr_of_the_inverting_model_over_the_hull_masks(facesets, tmp_path):
    card = ModelCard(resolution=64, coverage=2.2, preset="test", architecture="invert", identities=("ada",))
    path = tmp_path / "invert.onnx"
    onnx.save(build_inverting_model(64, morph=True, card=card), str(path))
    result = evaluate(path, facesets["ada"], limit=10)

    faces = faces_from_faceset(facesets["ada"], 64, limit=10).astype(np.float64)
    masks = masks_from_faceset(facesets["ada"], 64, limit=10).astype(np.float64)
    assert masks.shape == (10, 64, 64, 1) and 0.2 < masks.mean() < 0.8   # the face, not the whole crop
    # with morph 1 the model renders 1 - x, so the error at each pixel is 1 - 2x
    expected_mse = (masks * (1 - 2 * faces) ** 2).sum() / (masks.sum() * 3)
    assert result.faces == 10 and result.identity == "ada"
    assert result.psnr_db == pytest.approx(-10 * np.log10(expected_mse), abs=1e-3)
    assert "dB" in result.lines()[0]


def test_a_faceset_aligned_differently_is_refused(facesets, tmp_path):
    card = ModelCard(resolution=64, coverage=1.8, preset="test", architecture="invert", identities=("ada",))
    path = tmp_path / "invert.onnx"
    onnx.save(build_inverting_model(64, card=card), str(path))
    with pytest.raises(UserError, match="coverage 2.2 .* the model with 1.8"):
        evaluate(path, facesets["ada"])


def test_evaluate_cli(facesets, inverting_model_path, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "swapcam.realtime.cli", "evaluate", str(inverting_model_path),
                         "--faceset", str(facesets["bo"]), "--limit", "5"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "reconstruction PSNR" in ok.stdout and "of 5 faces" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "swapcam.realtime.cli", "evaluate", str(inverting_model_path),
                          "--faceset", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "is not a faceset" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
