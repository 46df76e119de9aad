"""swapcam evaluate: reconstruction PSNR of a model on held-out faces, over the faceset's hull masks."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from swapcam.export.evaluate import evaluate, faces_from_faceset, masks_from_faceset
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.contract import ModelCard
from swapcam.realtime.stages.testmodel import build_inverting_model


def test_psnr_of_the_inverting_model_over_the_hull_masks(facesets, tmp_path):
    card = ModelCard(resolution=64, coverage=2.2, preset="test", architecture="invert", identities=("ada",))
    path = tmp_path / "invert.onnx"
    onnx.save(build_inverting_model(64, morph=True, card=card), str(path))
    result = evaluate(path, facesets["ada"], limit=10)

    faces = faces_from_faceset(facesets["ada"], 64, limit=10).astype(np.float64)
    masks = masks_from_faceset(facesets["ada"], 64, limit=10).astype(np.float64)
    assert masks.shape == (10, 64, 64, 1) and 0.2 < masks.mean() < 0.8  # the face, not the whole crop
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


def test_evaluate_cli(facesets, inverting_model_path, tmp_path, swapcam_cli):
    ok = swapcam_cli("evaluate", str(inverting_model_path), "--faceset", str(facesets["bo"]), "--limit", "5")
    assert ok.returncode == 0, ok.stderr
    assert "reconstruction PSNR" in ok.stdout and "of 5 faces" in ok.stdout
    bad = swapcam_cli("evaluate", str(inverting_model_path), "--faceset", str(tmp_path))
    assert bad.returncode == 2 and "is not a faceset" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def _passthrough_model(resolution: int, card: ModelCard) -> onnx.ModelProto:
    """A contract model that renders the camera face unchanged (swapped face = input face)."""
    from onnx import TensorProto, helper

    from swapcam.realtime.stages.contract import INPUT_FACE, OUTPUTS

    shape = ["N", resolution, resolution]
    nodes = [
        helper.make_node("Identity", [INPUT_FACE], [OUTPUTS[1]]),
        helper.make_node("ReduceMax", [INPUT_FACE], [OUTPUTS[0]], axes=[3], keepdims=1),
        helper.make_node("Identity", [OUTPUTS[0]], [OUTPUTS[2]]),
    ]
    graph = helper.make_graph(
        nodes,
        "passthrough",
        [helper.make_tensor_value_info(INPUT_FACE, TensorProto.FLOAT, [*shape, 3])],
        [
            helper.make_tensor_value_info(OUTPUTS[0], TensorProto.FLOAT, [*shape, 1]),
            helper.make_tensor_value_info(OUTPUTS[1], TensorProto.FLOAT, [*shape, 3]),
            helper.make_tensor_value_info(OUTPUTS[2], TensorProto.FLOAT, [*shape, 1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"swapcam": card.to_json()})
    return model


def test_identity_check_tells_a_swap_that_changed_nobody(facesets, tmp_path, swapcam_cli):
    identity = pytest.importorskip("swapcam.export.identity")
    if not identity.available():
        pytest.skip("dlib and face-recognition-models are not installed (the identity extra)")
    from swapcam.export.evaluate import identity_check

    card = ModelCard(resolution=64, coverage=2.2, preset="test", architecture="none", identities=("ada",))
    path = tmp_path / "same.onnx"
    onnx.save(_passthrough_model(64, card), str(path))
    (check,) = identity_check(path, facesets["ada"], [facesets["bo"]], limit=12)
    # the "swapped" faces are bo's own, softened by the 64 px model: nearer bo than ada, every one
    assert (check.source, check.target, check.faces, check.share) == ("ada", "bo", 12, 0.0)
    assert check.to_target < 0.3 < check.to_source
    assert "0% of 12 swapped bo faces look nearer ada than bo" in check.line()
    cli = swapcam_cli(
        "evaluate", str(path), "--faceset", str(facesets["ada"]), "--target", str(facesets["bo"]), "--limit", "6"
    )
    assert cli.returncode == 0, cli.stderr
    assert "0% of 6 swapped bo faces" in cli.stdout


def test_faceset_report_cli(facesets, tmp_path, swapcam_cli):
    plot = tmp_path / "coverage.png"
    ok = swapcam_cli("faceset-report", str(facesets["ada"]), str(facesets["bo"]), "--plot", str(plot))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("swapcam faceset-report: ") and plot.stat().st_size > 10_000
    bad = swapcam_cli("faceset-report", str(facesets["ada"]), str(tmp_path / "none"))
    assert bad.returncode == 2 and "is not a faceset" in bad.stderr and "Traceback" not in bad.stderr


def test_psnr_at_a_common_resolution_counts_what_enlarging_loses(facesets, tmp_path):
    import cv2

    card = ModelCard(resolution=64, coverage=2.2, preset="test", architecture="none", identities=("ada",))
    path = tmp_path / "same.onnx"
    onnx.save(_passthrough_model(64, card), str(path))
    result = evaluate(path, facesets["ada"], limit=6, at=128)
    # the model gives its 64 px input back: perfect at 64 px, and at 128 px exactly the loss of 64 px
    small = faces_from_faceset(facesets["ada"], 64, limit=6)
    enlarged = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_CUBIC) for f in small]).clip(0, 1)
    truth = faces_from_faceset(facesets["ada"], 128, limit=6).astype(np.float64)
    masks = masks_from_faceset(facesets["ada"], 128, limit=6).astype(np.float64)
    expected_mse = (masks * (enlarged - truth) ** 2).sum() / (masks.sum() * 3)
    assert result.psnr_db > 100 and result.at == 128
    assert result.psnr_at_db == pytest.approx(-10 * np.log10(expected_mse), abs=1e-3)
    assert 20 < result.psnr_at_db < 45 and "enlarged to 128 px" in result.lines()[1]
    with pytest.raises(UserError, match="--at 512 is outside 64..128 px"):
        evaluate(path, facesets["ada"], limit=6, at=512)
