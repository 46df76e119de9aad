"""Issue 23's model side: the DSSIM and mask blur as matrix products, ICNR-initialised upscaling, and
the checkerboard measure."""

from __future__ import annotations

import dataclasses

import kornia
import numpy as np
import pytest
import torch

from swapcam.export.dims import PRESETS
from swapcam.export.evaluate import grid_strength
from swapcam.export.losses import gaussian_blur, gaussian_matrix, ssim_loss
from swapcam.export.models import build_model


def test_the_gaussian_matrix_is_kornias_reflect_padded_filter():
    torch.manual_seed(0)
    masks = (torch.rand(2, 1, 64, 96) > 0.5).float()  # not square: rows and columns differ
    expected = kornia.filters.gaussian_blur2d(masks, (25, 25), (4.0, 4.0))
    assert torch.allclose(gaussian_blur(masks, 25, 4.0), expected, atol=1e-6)
    assert np.allclose(gaussian_matrix(32, 5, 1.5).sum(0), 1.0)  # each output is a weighted mean


@pytest.mark.parametrize("window", [5, 11])
def test_ssim_loss_is_kornias(window):
    torch.manual_seed(1)
    pred = torch.rand(3, 3, 64, 64)
    target = (pred + 0.1 * torch.randn_like(pred)).clamp(0, 1)
    for a, b in ((pred, target), (pred, torch.rand_like(pred)), (pred, pred)):
        assert float(ssim_loss(a, b, window)) == pytest.approx(float(kornia.losses.ssim_loss(a, b, window)), abs=1e-6)


def test_ssim_loss_gradient_is_kornias():
    torch.manual_seed(2)
    target = torch.rand(2, 3, 32, 32)
    grads = []
    for loss in (ssim_loss, kornia.losses.ssim_loss):
        pred = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
        loss(pred, target, 5).backward()
        grads.append(pred.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-7)


def test_a_new_decoder_upscales_without_a_checkerboard():
    """ICNR: at initialisation the four sub-pixels of every pixel shuffle are equal, so a half-resolution
    decoder's output is constant over each 2x2 block."""
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(PRESETS.get("tiny"), half_res_output=True)).eval()
    with torch.no_grad():
        image, mask = model.render(torch.rand(2, 3, 64, 64), "source")
    for out in (image, mask):
        blocks = out.unflatten(2, (32, 2)).unflatten(4, (32, 2))  # [N,C,32,2,32,2]
        assert torch.equal(blocks, blocks[:, :, :, :1, :, :1].expand_as(blocks))
    assert float(image.std()) > 0  # still an image, not a constant


def test_grid_strength_finds_a_checkerboard_and_ignores_detail():
    rng = np.random.default_rng(0)
    detail = 0.5 + 0.2 * (rng.random((4, 128, 128, 3), np.float32) - 0.5)  # ±25 grey levels, random phases
    masks = np.zeros((4, 128, 128, 1), np.float32)
    masks[:, 8:120, 8:120] = 1
    assert grid_strength(detail, masks) < 1.0
    y, x = np.mgrid[:128, :128]
    checker = (((x + y) % 2) * 2 - 1)[None, ..., None] * (4 / 255)  # ±4 grey levels, 2 px period
    flat = np.full_like(detail, 0.5)
    assert grid_strength(flat + checker, masks) == pytest.approx(4.0, rel=0.05)
    columns = ((x // 2 % 2) * 2 - 1)[None, ..., None] * (4 / 255)  # a 4 px period
    assert grid_strength(flat + columns, masks) == pytest.approx(4.0, rel=0.05)
    assert grid_strength(detail + checker, masks) == pytest.approx(4.0, abs=1.0)
    assert grid_strength(flat, masks) == 0.0


def test_the_input_convolution_is_the_encoders_first():
    from swapcam.export.models import build_swap_module
    from swapcam.export.onnx_export import export_fp32_proto, input_convs

    dims = PRESETS.get("tiny")
    graph = export_fp32_proto(build_swap_module(build_model(dims)), dims.resolution)
    assert input_convs(graph) == ["/encoder/stages/stages.0/Conv"]


def test_the_training_speed_section_times_each_thread_count():
    import os

    from benchmarks import training_speed

    results = training_speed.run(quick=True)
    rows = {key: row for key, row in results.items() if key.endswith("_threads")}
    assert set(rows) == {f"{n}_threads" for n in {1, os.cpu_count() or 1}}
    for row in rows.values():
        assert row["precision"] in ("fp32", "bfloat16") and row["it_per_s"] > 0 and row["cpu_ms"] > 0
    table = training_speed.markdown(results)
    assert results["preset"] == "tiny" and sum(line.startswith("| ") for line in table) == 1 + len(rows)
