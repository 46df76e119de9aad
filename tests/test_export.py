"""Export: parity, the model card, fp16/int8 variants, atomic writes, CLI errors, .dfm interop."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch

from swapcam.export import onnx_export
from swapcam.export.dims import PRESETS
from swapcam.export.evaluate import faces_from_faceset, run_onnx
from swapcam.export.models import build_model, build_swap_module
from swapcam.export.onnx_export import export_swap_model, run_torch
from swapcam.export.settings import EXPORT_PRECISIONS, ModelSettings, TrainSettings
from swapcam.export.training.loop import TrainRun, train
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import PipelineSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.contract import OUTPUTS, ModelCard
from swapcam.realtime.stages.swap import Swapper, SwapSettings
from swapcam.realtime.stages.testmodel import build_inverting_model

CARD = ModelCard(
    resolution=64,
    coverage=2.2,
    preset="tiny",
    architecture="df",
    identities=("ada", "bo"),
    iterations=3,
    consent="synthetic identities only",
    training_data={"source_faces": 24},
)


@pytest.fixture(scope="module")
def swap_module():
    torch.manual_seed(0)
    return build_swap_module(build_model(PRESETS.get("tiny")).eval())


@pytest.fixture(scope="module")
def checkpoint(facesets, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(
        TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=out, progress=False),
        ModelSettings(preset="tiny"),
        TrainSettings(iterations=2, batch_size=2, workers=0, warmup=1),
    )
    return out


def test_fp32_export_passes_parity_and_the_card_round_trips(swap_module, facesets, tmp_path):
    faces = faces_from_faceset(facesets["ada"], 64, limit=8)
    assert faces.shape == (8, 64, 64, 3) and faces.dtype == np.float32 and 0 <= faces.min() < faces.max() <= 1
    out = tmp_path / "m.onnx"
    result = export_swap_model(swap_module, CARD, out, "fp32", faces)
    assert result.parity_max_abs <= 1e-4
    model = onnx.load(str(out))
    assert [o.name for o in model.graph.output] == list(OUTPUTS) and model.opset_import[0].version >= 17
    swapper = Swapper(out, SwapSettings(provider="cpu"))
    assert swapper.card == CARD and not swapper.card.foreign
    batch = run_onnx(model, faces[:3])  # dynamic batch N
    assert [b.shape for b in batch] == [(3, 64, 64, 1), (3, 64, 64, 3), (3, 64, 64, 1)]


def test_fp16_and_int8_files_load_and_run(swap_module, facesets, tmp_path):
    source = faces_from_faceset(facesets["ada"], 64, limit=16)
    target = faces_from_faceset(facesets["bo"], 64, limit=16)
    fp16 = export_swap_model(
        swap_module, dataclasses.replace(CARD, precision="fp16"), tmp_path / "h.onnx", "fp16", source, target
    )
    assert fp16.parity_max_abs <= 1e-2
    fp16_out = run_onnx(onnx.load(str(tmp_path / "h.onnx")), source[:4])
    reference = run_torch(swap_module, source[:4])
    assert max(float(np.abs(a - b).max()) for a, b in zip(fp16_out, reference, strict=True)) <= 1e-2
    int8 = export_swap_model(swap_module, CARD, tmp_path / "q.onnx", "int8", source, target, force=True)
    assert int8.psnr_db is not None and int8.psnr_fp32_db is not None
    model = onnx.load(str(tmp_path / "q.onnx"))
    assert any(node.op_type == "QuantizeLinear" for node in model.graph.node)
    swapper = Swapper(tmp_path / "q.onnx", SwapSettings(provider="cpu"))
    face_mask, celeb, celeb_mask = swapper(np.ascontiguousarray(source[0], np.float32))
    assert celeb.shape == (64, 64, 3) and np.isfinite(celeb).all()


def test_every_declared_export_precision_has_a_converter():
    assert onnx_export.PRECISION_CONVERTERS.names() == EXPORT_PRECISIONS.names()


def test_failed_checks_write_nothing(swap_module, monkeypatch, tmp_path):
    out = tmp_path / "m.onnx"
    monkeypatch.setitem(onnx_export.PARITY_TOLERANCE, "fp32", 0.0)
    monkeypatch.setattr(onnx_export, "run_torch", lambda module, faces: [f + 1 for f in run_torch(module, faces)])
    with pytest.raises(UserError, match="failed parity.*nothing was written"):
        export_swap_model(swap_module, CARD, out, "fp32")
    assert list(tmp_path.iterdir()) == []  # not even a temporary file
    with pytest.raises(UserError, match="int8 export needs faceset faces"):
        export_swap_model(swap_module, CARD, out, "int8")


@pytest.mark.slow
def test_export_cli_writes_a_card_and_refuses_bad_input(checkpoint, facesets, tmp_path, swapcam_cli):
    out = tmp_path / "demo.onnx"
    ok = swapcam_cli(
        "export",
        str(checkpoint),
        "--out",
        str(out),
        "--faceset",
        str(facesets["ada"]),
        "--consent",
        "synthetic identities only",
    )
    assert ok.returncode == 0, ok.stderr
    assert "parity max" in ok.stderr and "ms/face" in ok.stderr
    card = Swapper(out, SwapSettings(provider="cpu")).card
    assert (card.preset, card.identities, card.iterations, card.precision) == ("tiny", ("ada", "bo"), 2, "fp32")
    assert card.consent == "synthetic identities only" and card.created and card.version
    info = swapcam_cli("info", str(out))
    assert info.returncode == 0 and "preset       tiny" in info.stdout and "GFLOPs/face" in info.stdout
    for args, message in [
        (["--preset", "live"], "is a 'tiny' model, not 'live'"),
        (["--identity", "zed"], "identity 'zed' is not in this model"),
        (["--precision", "int8"], "int8 export needs faceset faces"),
    ]:
        bad = swapcam_cli("export", str(checkpoint), "--out", str(tmp_path / "x.onnx"), *args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and message in bad.stderr, bad.stderr
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes((checkpoint / "checkpoint.pt").read_bytes()[:1000])
    bad = swapcam_cli("export", str(truncated), "--out", str(tmp_path / "x.onnx"))
    assert bad.returncode == 2 and "not readable" in bad.stderr and not (tmp_path / "x.onnx").exists()


def test_a_dfm_with_morph_value_runs_in_the_live_pipeline(tmp_path):
    dfm = tmp_path / "celeb.dfm"
    onnx.save(build_inverting_model(64, morph=True), str(dfm))  # no card: a foreign DeepFaceLive-style file
    means = {}
    for morph in (0.0, 1.0):
        frames = []
        config = LiveConfig(
            swap=SwapSettings(morph=morph), color=ColorSettings(mode="none"), pipeline=PipelineSettings(max_frames=12)
        )
        report = run_live(
            LiveRun(input="synthetic:size=480x320", model=dfm, output="null", config=config, on_output=frames.append),
            log=lambda line: None,
        )
        assert report["frames_swapped"] >= 10 and report["coverage"] == 2.2
        means[morph] = np.mean([f.image.mean() for f in frames])
    assert abs(means[1.0] - means[0.0]) > 1.0  # morph 1 inverts the face, morph 0 leaves it as it was
