"""The detector's ONNX file: the network with its sigmoid, input ``face`` (N, 128, 128, 3) float32
BGR 0..1, output ``swap_score`` (N,), and its card (metadata ``swapcam_detector``, JSON), checked
against PyTorch before it is written."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.provenance.detector import CARD_KEY, CROP_SIZE, INPUT, OUTPUT, SwapDetector

from .net import DetectorNet, Scored

MAX_BYTES = 5 * 1024 * 1024


def write_detector(net: DetectorNet, card: dict[str, Any], out: Path) -> Path:
    """Export ``net`` with ``card`` (it must hold ``threshold``) to ``out``; returns ``out``."""
    example = torch.rand(2, CROP_SIZE, CROP_SIZE, 3)
    with torch.no_grad(), warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        # the TorchScript exporter (dynamo=False) warns that it is deprecated; it is the one that
        # writes a plain static graph for this small CNN
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Scored(net).eval(),
            (example,),
            str(Path(tmp) / "detector.onnx"),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "n"}, OUTPUT: {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
        expected = torch.sigmoid(net(example)).numpy()
        model = onnx.load(str(Path(tmp) / "detector.onnx"))
    onnx.helper.set_model_props(model, {CARD_KEY: json.dumps(card, sort_keys=True)})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model.SerializeToString())
    if out.stat().st_size > MAX_BYTES:
        raise UserError(f"the detector is {out.stat().st_size / 2**20:.1f} MB, over 5 MB: use a smaller network")
    got = SwapDetector(out).scores((example.numpy() * 255).round().astype(np.uint8))
    again = torch.sigmoid(net(torch.from_numpy((example.numpy() * 255).round().astype(np.float32) / 255))).detach()
    if not np.allclose(got, again.numpy(), atol=1e-4) or expected.shape != got.shape:
        raise UserError(f"{out}: onnxruntime and PyTorch disagree on the detector's scores: a bug, please report it")
    return out
