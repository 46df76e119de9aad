"""``swapcam info MODEL``: what a swap model is and how fast it runs here. Needs no torch, so it
works for DeepFaceLive files and other contract-following models as well as swapcam's own.

GFLOPs counts the multiply-adds of Conv, ConvTranspose, Gemm and MatMul nodes for one face, two
FLOPs each (element-wise work is left out: it is small next to the convolutions); the same
convention as ``torch.utils.flop_counter``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import shape_inference

from ..core.timing import median_ms
from .swap import Swapper, SwapSettings, read_model


def _shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Static shapes of every tensor with the batch dimension fixed to 1."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1
    inferred = shape_inference.infer_shapes(model)
    shapes = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if dims and all(dims):
            shapes[value.name] = dims
    for init in inferred.graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _attribute(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def count_flops(model: onnx.ModelProto) -> int:
    """FLOPs (2 × multiply-adds) of one face through the model; see the module docstring."""
    shapes = _shapes(model)
    macs = 0
    for node in model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose"):
            # Conv: each output element takes Cin/groups·kH·kW MACs (weight [Cout, Cin/g, kH, kW]);
            # ConvTranspose: each input element spreads over Cout/groups·kH·kW (weight [Cin, Cout/g, kH, kW]).
            weight = shapes.get(node.input[1])
            tensor = shapes.get(node.output[0] if node.op_type == "Conv" else node.input[0])
            if weight is None or tensor is None:
                continue
            macs += int(np.prod(tensor)) * int(np.prod(weight[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            a, out = shapes.get(node.input[0]), shapes.get(node.output[0])
            if a is None or out is None:
                continue
            transposed = node.op_type == "Gemm" and _attribute(node, "transA", 0)
            inner = a[-2] if transposed else a[-1]
            macs += int(np.prod(out)) * inner
    return 2 * macs


@dataclass
class ModelInfo:
    path: str
    card: dict[str, Any]
    inputs: list[str]
    outputs: list[str]
    parameters: int
    gflops: float
    provider: str
    ms_per_face: float

    def lines(self) -> list[str]:
        card = self.card
        origin = "none (foreign model: documented defaults)" if card.pop("foreign") else "swapcam"
        return [
            f"model        {self.path}",
            f"card         {origin}",
            *[f"  {key:<12} {value}" for key, value in card.items() if value not in ("", (), {}, None)],
            "inputs       " + ", ".join(self.inputs),
            "outputs      " + ", ".join(self.outputs),
            f"parameters   {self.parameters:,}",
            f"GFLOPs/face  {self.gflops:.3f}",
            f"speed        {self.ms_per_face:.2f} ms/face on {self.provider} (median of a quick timing)",
        ]


def _describe(values) -> list[str]:
    return [f"{v.name} {v.type.replace('tensor(', '').rstrip(')')}{list(v.shape)}" for v in values]


def model_info(path: str | Path, settings: SwapSettings = SwapSettings(), runs: int = 20) -> ModelInfo:
    model = read_model(path)
    swapper = Swapper(model, settings)
    crop = np.random.default_rng(0).random((swapper.resolution, swapper.resolution, 3), dtype=np.float32)
    ms_per_face = median_ms(lambda: swapper(crop), runs, warmup=1)
    card = dataclasses.asdict(swapper.card)
    return ModelInfo(
        path=str(path),
        card=card,
        inputs=_describe(swapper.session.get_inputs()),
        outputs=_describe(swapper.session.get_outputs()),
        parameters=sum(int(np.prod(init.dims)) for init in model.graph.initializer),
        gflops=count_flops(model) / 1e9,
        provider=swapper.provider,
        ms_per_face=ms_per_face,
    )
