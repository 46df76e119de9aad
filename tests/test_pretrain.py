"""Pretraining: a base from a pool of synthetic people, and ``train --base`` starting from it."""

from __future__ import annotations

import gzip
import io
import json
import shutil

import pytest
import torch

from swapcam.export.base import BASE_FORMAT, WEIGHTS, base_path, read_base, write_base
from swapcam.export.pretrain import BASE_NAME, pretrain, synthetic_inputs
from swapcam.export.settings import ModelSettings, PretrainSettings, TrainSettings
from swapcam.export.training.checkpoint import read_checkpoint
from swapcam.export.training.loop import TrainRun, train
from swapcam.realtime.core.errors import UserError

TINY = ModelSettings(preset="tiny")
QUICK = TrainSettings(batch_size=4, workers=0, warmup=3, checkpoint_every=5, preview_every=5)
POOL = PretrainSettings(identities=2, faces_per_identity=6, first_seed=7)


@pytest.fixture(scope="module")
def base(tmp_path_factory, facesets):
    """A tiny base: two synthetic people of 6 faces plus the ``bo`` faceset, 4 iterations."""
    out = tmp_path_factory.mktemp("pretrain")
    # seed 1: initial weights unlike a seed-0 run from scratch, so a test can tell them apart
    path = pretrain(out, [facesets["bo"]], POOL, TINY, QUICK.replace(iterations=4, seed=1), progress=False)
    assert path == out / BASE_NAME
    return path


def test_synthetic_inputs_count_up_from_the_first_seed():
    assert synthetic_inputs(POOL) == [
        "synthetic:identity=random,seed=7,size=640x480",
        "synthetic:identity=random,seed=8,size=640x480",
    ]


def test_pretrain_writes_a_half_precision_base_of_the_whole_pool(base, facesets):
    state = torch.load(io.BytesIO(gzip.decompress(base.read_bytes())), weights_only=True)
    checkpoint = read_checkpoint(base.parent / "run" / "checkpoint.pt")
    assert state["format"] == BASE_FORMAT and state["iterations"] == 4
    assert state["model"] == checkpoint["model"] and state["model"]["preset"] == "tiny"
    synthetic = sum(1 for _ in (base.parent / "synthetic" / "faces").iterdir())
    assert synthetic == 2 * 6 and state["faces"] == synthetic + 24  # bo's 24 faces joined the pool
    # every face of the pool was on both sides
    card = checkpoint["card"]["training_data"]
    assert card["source_faces"] == card["target_faces"] == state["faces"]
    for name, tensor in state["weights"].items():
        assert tensor.dtype == torch.float16
        torch.testing.assert_close(tensor.float(), checkpoint["weights"][name], atol=1e-2, rtol=1e-3)


def test_train_from_a_base_starts_at_its_weights(base, facesets, tmp_path):
    run = TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=tmp_path / "tuned", progress=False)
    # lr 1e-7: one step leaves the weights where they started, so what they started from shows
    tuned = train(run, ModelSettings(), QUICK.replace(iterations=1, lr=1e-7, base=str(base))).model
    weights = read_base(base)["weights"]
    for name, tensor in tuned.state_dict().items():
        torch.testing.assert_close(tensor, weights[name], atol=1e-6, rtol=0)
    scratch = train(
        TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=tmp_path / "scratch", progress=False),
        TINY,
        QUICK.replace(iterations=1, lr=1e-7),
    ).model
    assert max((scratch.state_dict()[k] - w).abs().max().item() for k, w in weights.items()) > 0.01
    card = read_checkpoint(tmp_path / "tuned" / "checkpoint.pt")["card"]
    assert card["preset"] == "tiny"  # the base's, without --preset
    assert card["training_data"]["base_faces"] == 36 and card["training_data"]["base_iterations"] == 4


def test_a_resumed_fine_tuning_still_names_its_base(base, facesets, tmp_path):
    out = tmp_path / "tuned"
    run = TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=out, progress=False)
    train(run, ModelSettings(), QUICK.replace(iterations=1, base=str(base)))
    resumed = TrainRun(
        source=facesets["ada"], targets=[facesets["bo"]], out=out, resume=out / "checkpoint.pt", progress=False
    )
    train(resumed, ModelSettings(), QUICK.replace(iterations=2))
    assert read_checkpoint(out / "checkpoint.pt")["card"]["training_data"]["base_faces"] == 36


def test_bad_bases_name_the_problem_and_the_fix(base, facesets, tmp_path):
    def refused(message: str, base_file, model: ModelSettings = ModelSettings(), **changes):
        run = TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=tmp_path / "r", progress=False)
        with pytest.raises(UserError, match=message):
            train(TrainRun(**{**run.__dict__, **changes}), model, QUICK.replace(iterations=1, base=str(base_file)))

    refused("base .*nowhere.pt does not exist: make one with swapcam pretrain", tmp_path / "nowhere.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    refused("junk.pt is not readable", tmp_path / "junk.pt")
    write_base(tmp_path / "checkpoint-like.pt", {"format": 1})
    refused("is not a swapcam base", tmp_path / "checkpoint-like.pt")
    refused("trained with preset tiny, not live: drop --preset", base, ModelSettings(preset="live"))
    refused("--base starts a new run and --resume continues one", base, resume=base)
    wide = tmp_path / "ada_wide"
    shutil.copytree(facesets["ada"], wide)
    meta = json.loads((wide / "faceset.json").read_text())
    (wide / "faceset.json").write_text(json.dumps({**meta, "coverage": 2.6}))
    refused("coverage 2.2, y offset 0.0, these facesets have 2.6", base, source=wide, targets=[wide])


def test_pretrain_refuses_an_empty_pool_and_a_second_run(base, tmp_path):
    with pytest.raises(UserError, match="the pool is empty"):
        pretrain(tmp_path, [], PretrainSettings(identities=0), TINY, QUICK.replace(iterations=1), progress=False)
    with pytest.raises(UserError, match="already holds a pretraining run: add --resume"):
        pretrain(base.parent, [], POOL, TINY, QUICK.replace(iterations=1), progress=False)


def test_cli_missing_base_is_one_line(facesets, tmp_path, swapcam_cli):
    result = swapcam_cli(
        "train",
        "--source",
        str(facesets["ada"]),
        "--target",
        str(facesets["bo"]),
        "--out",
        str(tmp_path / "run"),
        "--base",
        str(tmp_path / "none.pt"),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "none.pt does not exist: make one with swapcam pretrain" in errors[0]


def test_auto_starts_the_live_preset_from_the_shipped_base(facesets, tmp_path, capsys):
    shipped = read_base(base_path("auto", "live", custom_dims=False))
    assert shipped["model"]["preset"] == "live" and shipped["faces"] >= 2000  # synthetic people only
    run = TrainRun(source=facesets["ada"], targets=[facesets["bo"]], out=tmp_path / "live", progress=False)
    tuned = train(run, ModelSettings(), QUICK.replace(iterations=1, lr=1e-7)).model  # --base auto, the default
    for name, tensor in tuned.state_dict().items():
        torch.testing.assert_close(tensor, shipped["weights"][name], atol=1e-6, rtol=0)
    assert "starting from the base" in capsys.readouterr().out
    # none, a preset without a shipped base, or changed dims: random weights
    assert base_path("none", "live", custom_dims=False) is None
    assert base_path("auto", "tiny", custom_dims=False) is None and base_path("auto", "live", custom_dims=True) is None
    assert base_path("auto", "live", custom_dims=False) == WEIGHTS / "base-live.pt.gz"


def test_auto_trains_from_random_weights_when_the_shipped_base_does_not_fit(facesets, tmp_path, capsys):
    wide = tmp_path / "ada_wide"
    shutil.copytree(facesets["ada"], wide)
    meta = json.loads((wide / "faceset.json").read_text())
    (wide / "faceset.json").write_text(json.dumps({**meta, "coverage": 2.6}))
    run = TrainRun(source=wide, targets=[wide], out=tmp_path / "wide", progress=False)
    train(run, ModelSettings(), QUICK.replace(iterations=1))
    assert "starting from random weights" in capsys.readouterr().out
    assert "base_faces" not in read_checkpoint(tmp_path / "wide" / "checkpoint.pt")["card"]["training_data"]


def test_cli_pretrain_with_an_empty_pool_is_one_line(tmp_path, swapcam_cli):
    result = swapcam_cli("pretrain", "--out", str(tmp_path / "base"), "--identities", "0", "--preset", "tiny")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.endswith("the pool is empty: keep --identities above 0 or add --faceset DIR")
    assert not (tmp_path / "base" / "base.pt.gz").exists()
