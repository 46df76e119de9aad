"""A tiny contract-following ONNX model built in code, for tests and for running the pipeline before a
trained model exists.

It does no face swapping: it colour-inverts the face (``1 - in_face``) inside a soft ellipse, which
makes it obvious in frames which pixels the pipeline replaced. With ``morph=True`` it takes the
optional ``morph_value`` input and blends ``in + morph * (1 - 2 in)`` (0 = unchanged, 1 = inverted).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .contract import INPUT_FACE, INPUT_MORPH, OUTPUTS, ModelCard

OPSET = 17


def ellipse_mask(resolution: int) -> np.ndarray:
    """(resolution, resolution) float32 0..1: a feathered ellipse covering the central face area."""
    coords = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution - 0.5
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    radius = np.sqrt((xx / 0.36) ** 2 + (yy / 0.44) ** 2)
    return np.clip((1.0 - radius) / 0.15, 0.0, 1.0).astype(np.float32)


def build_inverting_model(resolution: int = 64, morph: bool = False, card: ModelCard | None = None) -> onnx.ModelProto:
    """The test model as an ``onnx.ModelProto`` (dynamic batch N)."""
    res = resolution
    face = helper.make_tensor_value_info(INPUT_FACE, TensorProto.FLOAT, ["N", res, res, 3])
    inputs = [face]
    outputs = [
        helper.make_tensor_value_info(OUTPUTS[0], TensorProto.FLOAT, ["N", res, res, 1]),
        helper.make_tensor_value_info(OUTPUTS[1], TensorProto.FLOAT, ["N", res, res, 3]),
        helper.make_tensor_value_info(OUTPUTS[2], TensorProto.FLOAT, ["N", res, res, 1]),
    ]
    inits = [
        numpy_helper.from_array(ellipse_mask(res)[None, :, :, None], "ellipse"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array([0, 0, 0, 0], np.int64), "starts"),
        numpy_helper.from_array(np.array([2**31, res, res, 1], np.int64), "ends"),
    ]
    nodes = [
        # A zero tensor shaped [N,H,W,1] from the input, so the masks carry the dynamic batch size.
        helper.make_node("Slice", [INPUT_FACE, "starts", "ends"], ["first_channel"]),
        helper.make_node("Sub", ["first_channel", "first_channel"], ["zeros"]),
        helper.make_node("Add", ["zeros", "ellipse"], [OUTPUTS[0]]),
        helper.make_node("Identity", [OUTPUTS[0]], [OUTPUTS[2]]),
    ]
    if morph:
        inputs.append(helper.make_tensor_value_info(INPUT_MORPH, TensorProto.FLOAT, [1]))
        nodes += [
            helper.make_node("Mul", ["two", INPUT_FACE], ["twice"]),
            helper.make_node("Sub", ["one", "twice"], ["delta"]),
            helper.make_node("Mul", ["delta", INPUT_MORPH], ["scaled"]),
            helper.make_node("Add", [INPUT_FACE, "scaled"], [OUTPUTS[1]]),
        ]
    else:
        nodes.append(helper.make_node("Sub", ["one", INPUT_FACE], [OUTPUTS[1]]))
    graph = helper.make_graph(nodes, "swapcam_inverting_test_model", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="swapcam")
    model.ir_version = 8
    if card is not None:
        helper.set_model_props(model, {"swapcam": card.to_json()})
    onnx.checker.check_model(model)
    return model
