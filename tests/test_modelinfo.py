import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from swapcam.realtime.stages.contract import ModelCard
from swapcam.realtime.stages.modelinfo import count_flops, model_info
from swapcam.realtime.stages.testmodel import build_inverting_model


def conv_graph():
    """in [N,3,32,32] → Conv 8×3×3×3 (pad 1) → ConvTranspose 8→4, k2 s2 → MatMul [64, 10]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [
        numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w1"),
        numpy_helper.from_array(np.zeros((8, 4, 2, 2), np.float32), "w2"),
        numpy_helper.from_array(np.zeros((64, 10), np.float32), "w3"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["a", "w2"], ["b"], strides=[2, 2]),
        helper.make_node("MatMul", ["b", "w3"], ["y"]),
    ]
    return helper.make_model(
        helper.make_graph(nodes, "g", [x], [y], inits), opset_imports=[helper.make_opsetid("", 17)]
    )


def test_flops_count_multiply_adds_twice():
    conv = 8 * 32 * 32 * (3 * 3 * 3)  # output elements × Cin·kH·kW
    transposed = 8 * 32 * 32 * (4 * 2 * 2)  # input elements × Cout·kH·kW → [1,4,64,64]
    matmul = 4 * 64 * 10 * 64  # [1,4,64,64] @ [64,10]
    assert count_flops(conv_graph()) == 2 * (conv + transposed + matmul)


def test_info_reports_card_io_and_speed(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(build_inverting_model(32, card=ModelCard(resolution=32, preset="test", consent="synthetic")), str(path))
    info = model_info(path, runs=3)
    text = "\n".join(info.lines())
    assert "preset       test" in text and "consent      synthetic" in text
    assert "in_face float['N', 32, 32, 3]" in text and info.ms_per_face > 0
    assert info.parameters == 32 * 32 + 4 + 4 + 1 + 1  # ellipse, slice starts and ends, two scalars


def test_info_cli_on_a_foreign_dfm_and_a_bad_file(tmp_path):
    dfm = tmp_path / "x.dfm"
    onnx.save(build_inverting_model(32, morph=True), str(dfm))
    ok = subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", "info", str(dfm)], capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0 and "foreign model" in ok.stdout and "morph_value" in ok.stdout
    (tmp_path / "bad.onnx").write_bytes(b"garbage")
    bad = subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", "info", str(tmp_path / "bad.onnx")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "not a readable ONNX model" in bad.stderr


def test_element_wise_models_count_no_flops():
    assert count_flops(build_inverting_model(64)) == 0
