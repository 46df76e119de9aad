"""Training: models and the swap contract, losses falling, exact resume, DDP, Ctrl-C, bad inputs."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from swapcam.export import device as device_module
from swapcam.export.dims import ARCHITECTURES, PRESET_NOTES, PRESETS, ModelDims
from swapcam.export.losses import PIXEL_LOSS_FUNCTIONS, dssim_window, reconstruction_losses
from swapcam.export.models import MODEL_CLASSES, build_model, build_swap_module, swap_flops
from swapcam.export.settings import PIXEL_LOSSES, TRAIN_PRECISIONS, ModelSettings, TrainSettings
from swapcam.export.training.checkpoint import load_model, read_checkpoint
from swapcam.export.training.loop import TrainRun, train
from swapcam.export.training.trainer import lr_factor
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.contract import INPUT_FACE, OUTPUTS, TensorInfo, check_io

TINY = ModelSettings(preset="tiny")
# small, quick and deterministic: no workers, short warmup, all threads of this machine
QUICK = TrainSettings(batch_size=4, workers=0, warmup=3, checkpoint_every=5, preview_every=5)


def run_for(facesets, out: Path, **changes) -> TrainRun:
    return TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=out, progress=False, **changes)


def losses(out: Path) -> list[dict[str, float]]:
    with (out / "losses.csv").open() as fh:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(fh)]


# ------------------------------------------------------------------------------------------------ models


@pytest.mark.parametrize("arch", ["df", "liae"])
def test_swap_module_follows_the_contract(arch):
    dims = dataclasses.replace(PRESETS.get("tiny"), arch=arch)
    torch.manual_seed(0)
    model = build_model(dims).eval()
    module = build_swap_module(model)
    faces = torch.rand(2, 64, 64, 3)  # NHWC, BGR
    with torch.no_grad():
        face_mask, celeb, celeb_mask = module(faces)
        want = model.swap_path(faces.permute(0, 3, 1, 2), "source")
    assert face_mask.shape == (2, 64, 64, 1) and celeb.shape == (2, 64, 64, 3) and celeb_mask.shape == (2, 64, 64, 1)
    for out in (face_mask, celeb, celeb_mask):
        assert out.dtype == torch.float32 and 0.0 <= out.min() and out.max() <= 1.0
    # the layout conversion is a pure transpose: channel c of the NHWC output is channel c of the model's
    for got, ref in zip((face_mask, celeb, celeb_mask), want, strict=True):
        torch.testing.assert_close(got, ref.permute(0, 2, 3, 1))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter, still the one for opset 17
def test_swap_module_exports_to_a_contract_onnx(tmp_path):
    module = build_swap_module(build_model(PRESETS.get("tiny"))).eval()
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(
        module,
        (torch.rand(1, 64, 64, 3),),
        str(path),
        opset_version=17,
        input_names=[INPUT_FACE],
        output_names=list(OUTPUTS),
        dynamic_axes={n: {0: "n"} for n in [INPUT_FACE, *OUTPUTS]},
        dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    info = check_io(
        [TensorInfo(t.name, t.type, t.shape) for t in session.get_inputs()],
        [TensorInfo(t.name, t.type, t.shape) for t in session.get_outputs()],
    )
    assert info.resolution == 64 and not info.has_morph
    face = np.random.default_rng(0).random((3, 64, 64, 3), np.float32)
    outputs = session.run(None, {INPUT_FACE: face})
    with torch.no_grad():
        expected = module(torch.from_numpy(face))
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_live_preset_fits_the_cpu_budget():
    # FlopCounterMode counts a multiply-add as 2 FLOPs
    assert swap_flops(PRESETS.get("live")) <= 2.0e9


@pytest.mark.slow
def test_quality_preset_builds_and_takes_a_step():
    dims = PRESETS.get("quality")
    assert dims.arch == "liae" and dims.resolution == 224
    torch.manual_seed(0)
    model = build_model(dims)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    faces = torch.rand(2, 3, 224, 224)
    mask = torch.ones(2, 1, 224, 224)
    source_image, source_mask, target_image, target_mask = model(faces[:1], faces[1:])
    terms = reconstruction_losses(source_image, source_mask, faces[:1], mask[:1], None)
    terms.update(reconstruction_losses(target_image, target_mask, faces[1:], mask[1:], None))
    sum(terms.values()).backward()
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_every_preset_is_named_in_the_help():
    help_text = next(f for f in ModelSettings.__dataclass_fields__.values() if f.name == "preset").metadata["help"]
    assert all(name in help_text for name in PRESETS)


def test_the_settings_import_no_torch():
    # every swapcam invocation builds the train parser: it must not pay for torch
    code = "import sys, swapcam.export.settings, swapcam.export.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_declared_choice_has_an_implementation():
    assert PIXEL_LOSS_FUNCTIONS.names() == PIXEL_LOSSES.names()
    assert ["auto", *device_module.AUTOCAST_DTYPES] == TRAIN_PRECISIONS.names()
    assert MODEL_CLASSES.names() == ARCHITECTURES.names()
    assert PRESETS.names() == PRESET_NOTES.names()


def test_model_settings_are_checked_as_model_dims():
    with pytest.raises(UserError, match="unknown model preset 'huge': choose one of live, quality, demo, tiny"):
        ModelSettings(preset="huge")
    with pytest.raises(UserError, match="unknown architecture 'vit': choose one of df, liae"):
        ModelSettings(arch="vit")
    with pytest.raises(UserError, match="--resolution 72 is not a multiple of 16"):
        ModelSettings(preset="tiny", resolution=72)
    with pytest.raises(UserError, match="--resolution 16 is out of range: use a value from 32 to 1024"):
        ModelSettings(resolution=16)
    with pytest.raises(UserError, match="--inter-dims 0 is out of range"):
        ModelDims("df", 64, 16, 0, 16, 8)
    assert ModelSettings(preset="tiny", inter_dims=96).resolve(None, None) == (
        "tiny",
        dataclasses.replace(PRESETS.get("tiny"), inter_dims=96),
    )


def test_schedule_and_dssim_window():
    assert lr_factor(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(60, 10, 100, 0.1) == pytest.approx(0.55)
    assert lr_factor(10_000, 10, 100, 0.1) == pytest.approx(0.1)
    assert dssim_window(128) == 11 and dssim_window(64) == 5 and dssim_window(224) % 2 == 1


# ---------------------------------------------------------------------------------------------- training


@pytest.mark.slow
def test_tiny_preset_learns(facesets, tmp_path):
    out = tmp_path / "run"
    result = train(
        run_for(facesets, out),
        TINY,
        QUICK.replace(iterations=40, batch_size=8, lr=5e-4, preview_every=20, checkpoint_every=20),
    )
    assert result.iterations == 40 and result.reason == "iteration budget reached"
    rows = losses(out)
    assert [r["iteration"] for r in rows] == list(range(1, 41))
    rec = [r["source_dssim"] + r["source_pixel"] + r["target_dssim"] + r["target_pixel"] for r in rows]
    assert np.mean(rec[-8:]) < 0.85 * np.mean(rec[:8])
    assert sorted(p.name for p in (out / "previews").iterdir()) == ["iter_0000020.png", "iter_0000040.png"]
    state = torch.load(out / "checkpoint.pt", weights_only=True)  # tensors and plain containers only
    card = state["card"]
    assert state["model"]["preset"] == "tiny" and state["iteration"] == 40
    assert card["identities"] == ["ada", "bo"] and card["coverage"] == 2.2 and card["resolution"] == 64
    assert card["training_data"] == {"source_faces": 24, "target_faces": 24, "target_facesets": 1}
    assert "/" not in json.dumps(card)  # names, never paths
    model, model_card = load_model(out / "checkpoint.pt")
    assert model_card.iterations == 40 and model_card.architecture == "df"
    torch.testing.assert_close(model.state_dict(), {k: v.cpu() for k, v in result.model.state_dict().items()})


@pytest.mark.slow
def test_resume_continues_exactly(facesets, tmp_path):
    """10 steps in one go equal 5 steps, a stop (the step-5 checkpoint), and a resume to 10."""
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    settings = QUICK.replace(gan_power=0.1, eyes_mouth=True)
    train(run_for(facesets, straight), TINY, settings.replace(iterations=10))
    train(run_for(facesets, stopped), TINY, settings.replace(iterations=5))
    assert read_checkpoint(stopped / "checkpoint.pt")["iteration"] == 5
    train(
        run_for(facesets, stopped, resume=stopped / "checkpoint.pt"), ModelSettings(), settings.replace(iterations=10)
    )
    a, b = (torch.load(p / "checkpoint.pt", weights_only=True) for p in (straight, stopped))
    assert a["iteration"] == b["iteration"] == 10
    assert a["scheduler"] == b["scheduler"]
    for key in ("weights", "discriminator"):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    for key in ("optimizer", "discriminator_optimizer"):
        assert a[key]["param_groups"] == b[key]["param_groups"]
        torch.testing.assert_close(a[key]["state"], b[key]["state"], rtol=0, atol=1e-6)
    assert [r["total"] for r in losses(straight)] == pytest.approx([r["total"] for r in losses(stopped)], abs=1e-4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, port: int, facesets: dict, out: Path) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE="2",
    )
    result = train(run_for(facesets, out), TINY, QUICK.replace(iterations=2, batch_size=2, device="cpu"))
    torch.save(result.model.state_dict(), out.parent / f"rank{rank}.pt")


@pytest.mark.slow
def test_two_process_ddp_keeps_ranks_identical(facesets, tmp_path):
    out = tmp_path / "run"
    torch.multiprocessing.spawn(_ddp_worker, args=(_free_port(), facesets, out), nprocs=2, join=True)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    torch.testing.assert_close(rank0, rank1, rtol=0, atol=0)
    torch.manual_seed(QUICK.seed)
    initial = build_model(PRESETS.get("tiny")).state_dict()
    assert any(not torch.equal(initial[k], rank0[k]) for k in initial)  # a step was taken
    assert read_checkpoint(out / "checkpoint.pt")["iteration"] == 2
    assert len(losses(out)) == 2  # rank 0 alone writes


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(facesets, tmp_path):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "swapcam.export.train",
        "--source",
        str(facesets["ada"]),
        "--target",
        str(facesets["bo"]),
        "--out",
        str(out),
        "--preset",
        "tiny",
        "--batch-size",
        "2",
        "--workers",
        "1",
        "--no-progress",
    ]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ((out / "losses.csv").exists() and len(losses(out)) >= 2):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert read_checkpoint(out / "checkpoint.pt")["iteration"] == len(losses(out)) >= 2
    assert not list(out.glob("*.tmp"))


# -------------------------------------------------------------------------------------------- bad inputs


@pytest.mark.slow
def test_bad_inputs_name_the_problem_and_the_fix(facesets, tmp_path):
    def refused(message: str, run: TrainRun, model: ModelSettings = TINY, settings: TrainSettings = QUICK):
        with pytest.raises(UserError, match=message):
            train(run, model, settings.replace(iterations=1))

    refused(
        "faceset .*nowhere does not exist: check --source",
        TrainRun(source=tmp_path / "nowhere", targets=[facesets["bo"]], out=tmp_path / "a", progress=False),
    )
    other = tmp_path / "bo_wide"
    shutil.copytree(facesets["bo"], other)
    meta = json.loads((other / "faceset.json").read_text())
    (other / "faceset.json").write_text(json.dumps({**meta, "coverage": 2.6}))
    refused(
        "coverage 2.6.*re-extract them with the same --coverage",
        TrainRun(source=facesets["ada"], targets=[other], out=tmp_path / "b", progress=False),
    )
    refused(
        "smaller than the 224 px model: re-extract", run_for(facesets, tmp_path / "c"), ModelSettings(preset="quality")
    )
    refused(
        "1 --target-name for 2 --target",
        TrainRun(
            source=facesets["ada"],
            targets=[facesets["bo"]] * 2,
            out=tmp_path / "f",
            target_names=["bo"],
            progress=False,
        ),
    )
    done = tmp_path / "done"
    train(run_for(facesets, done), TINY, QUICK.replace(iterations=1))
    refused("already holds a training run: add --resume", run_for(facesets, done))
    refused(
        "trained with preset tiny, not live: drop --preset",
        run_for(facesets, done, resume=done / "checkpoint.pt"),
        ModelSettings(preset="live"),
    )
    refused(
        "has --encoder-dims 16, not 32",
        run_for(facesets, done, resume=done / "checkpoint.pt"),
        ModelSettings(encoder_dims=32),
    )
    refused("checkpoint .*missing.pt does not exist", run_for(facesets, done, resume=done / "missing.pt"))
    (done / "junk.pt").write_bytes(b"not a checkpoint")
    refused("junk.pt is not readable", run_for(facesets, done, resume=done / "junk.pt"))


@pytest.mark.parametrize("entry", [["-m", "swapcam.realtime.cli", "train"], ["-m", "swapcam.export.train"]])
def test_cli_missing_faceset_is_one_line(entry, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            *entry,
            "--source",
            str(tmp_path / "nope"),
            "--target",
            str(tmp_path / "nope2"),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "nope does not exist: check --source" in errors[0]


def test_auto_precision_is_bf16_only_where_the_cpu_computes_it(monkeypatch):
    cpu = torch.device("cpu")
    for native, expected in ((True, torch.bfloat16), (False, None)):
        monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda native=native: native)
        assert device_module.choose_precision(TrainSettings(), cpu) is expected
    assert device_module.choose_precision(TrainSettings(precision="fp32"), cpu) is None
    with pytest.raises(UserError, match="CUDA"):
        device_module.choose_precision(TrainSettings(precision="fp16"), cpu)


def test_face_pool_keeps_decoded_faces_up_to_its_budget(facesets, monkeypatch):
    import swapcam.export.data as data_module
    from swapcam.export.faceset import Faceset

    pool = data_module.FacePool([Faceset(facesets["ada"])], 64, False)
    first = pool.load(3)
    assert pool.load(3) is first and first.image.shape == (64, 64, 3)
    monkeypatch.setattr(data_module, "FACE_CACHE_BYTES", 2 * 64 * 64 * 5)
    small = data_module.FacePool([Faceset(facesets["ada"])], 64, False)
    loaded = [small.load(n) for n in range(4)]
    assert small.load(0) is loaded[0] and small.load(1) is loaded[1]  # within the budget: kept
    assert small.load(2) is not loaded[2]  # beyond it: read again
    np.testing.assert_array_equal(small.load(2).image, loaded[2].image)


@pytest.mark.slow
def test_holdout_psnr_is_logged_at_every_preview(facesets, tmp_path):
    out = tmp_path / "run"
    # checkpoints far apart: the end of the run writes the last one, and must not log iteration 10 twice
    train(run_for(facesets, out, holdout=facesets["ada"]), TINY, QUICK.replace(iterations=10, checkpoint_every=1000))
    with (out / "holdout.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["iteration"]) for r in rows] == [5, 10]
    assert all(5.0 < float(r["psnr_db"]) < 50.0 and float(r["seconds"]) > 0 for r in rows)


def test_holdout_framed_differently_is_refused(facesets, tmp_path):
    from swapcam.export.extract import ExtractSettings, extract

    other = tmp_path / "wide"
    extract(
        ["synthetic:identity=ada,size=320x240"],
        other,
        ExtractSettings(resolution=64, count=3, coverage=3.0, dedupe=0.0),
        progress=False,
    )
    with pytest.raises(UserError, match="coverage 3.0"):
        train(run_for(facesets, tmp_path / "run", holdout=other), TINY, QUICK.replace(iterations=2))
