import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.stages.contract import ContractError, ModelCard, TensorInfo, check_io
from swapcam.realtime.stages.swap import Swapper, SwapSettings
from swapcam.realtime.stages.testmodel import build_inverting_model

F = "tensor(float)"
GOOD_OUTPUTS = [
    TensorInfo("out_face_mask", F, ["N", 64, 64, 1]),
    TensorInfo("out_celeb_face", F, ["N", 64, 64, 3]),
    TensorInfo("out_celeb_face_mask", F, ["N", 64, 64, 1]),
]


def test_valid_io_gives_resolution_and_morph():
    io = check_io([TensorInfo("in_face", F, ["N", 64, 64, 3]), TensorInfo("morph_value", F, [1])], GOOD_OUTPUTS)
    assert (io.resolution, io.has_morph) == (64, True)


@pytest.mark.parametrize(
    "inputs,outputs,message",
    [
        ([TensorInfo("input", F, ["N", 64, 64, 3])], GOOD_OUTPUTS, "no input 'in_face'"),
        ([TensorInfo("in_face", "tensor(uint8)", ["N", 64, 64, 3])], GOOD_OUTPUTS, "expected float32"),
        ([TensorInfo("in_face", F, ["N", 3, 64, 64])], GOOD_OUTPUTS, "expected [N,H,W,3]"),
        ([TensorInfo("in_face", F, ["N", 64, 32, 3])], GOOD_OUTPUTS, "H == W"),
        (
            [TensorInfo("in_face", F, ["N", 64, 64, 3]), TensorInfo("extra", F, [1])],
            GOOD_OUTPUTS,
            "unexpected input 'extra'",
        ),
        ([TensorInfo("in_face", F, ["N", 64, 64, 3])], GOOD_OUTPUTS[::-1], "in that order"),
        ([TensorInfo("in_face", F, ["N", 64, 64, 3])], GOOD_OUTPUTS[:2], "expected exactly"),
        (
            [TensorInfo("in_face", F, ["N", 64, 64, 3])],
            [GOOD_OUTPUTS[0], TensorInfo("out_celeb_face", F, ["N", 64, 64, 1]), GOOD_OUTPUTS[2]],
            "expected [N,64,64,3]",
        ),
    ],
)
def test_contract_violations_name_the_mismatch(inputs, outputs, message):
    with pytest.raises(ContractError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_io(inputs, outputs)


def test_card_round_trips_and_foreign_defaults():
    card = ModelCard(
        resolution=128,
        coverage=2.0,
        preset="live",
        architecture="df",
        identities=("ada", "bo"),
        iterations=1000,
        consent="both agreed",
        training_data={"source": 10, "target": 12},
    )
    assert ModelCard.from_metadata({"swapcam": card.to_json()}, 128) == card
    foreign = ModelCard.from_metadata({}, 224)
    assert foreign.foreign and foreign.resolution == 224 and foreign.coverage == 2.2


def test_card_resolution_must_match_model():
    with pytest.raises(ContractError, match="resolution 64"):
        ModelCard.from_metadata({"swapcam": ModelCard(resolution=64).to_json()}, 128)


def test_swapper_runs_the_model_and_reads_the_card(inverting_model_path):
    swapper = Swapper(inverting_model_path, SwapSettings(provider="cpu", threads=1))
    assert swapper.resolution == 64 and swapper.card.preset == "test" and swapper.provider == "CPUExecutionProvider"
    face_mask, celeb, celeb_mask = swapper(np.full((64, 64, 3), 0.25, np.float32))
    assert celeb.shape == (64, 64, 3) and face_mask.shape == (64, 64)
    np.testing.assert_allclose(celeb, 0.75, atol=1e-6)
    assert face_mask[32, 32] == pytest.approx(1.0) and face_mask[0, 0] == 0.0


def test_morph_value_is_fed(tmp_path):
    path = tmp_path / "morph.dfm"
    onnx.save(build_inverting_model(32, morph=True), str(path))
    swapper = Swapper(path, SwapSettings(provider="cpu", morph=0.5))
    assert swapper.io.has_morph and swapper.card.foreign
    np.testing.assert_allclose(swapper(np.full((32, 32, 3), 0.2, np.float32))[1], 0.2 + 0.5 * (1 - 0.4), atol=1e-6)


def test_unreadable_and_wrong_models_are_user_errors(tmp_path):
    truncated = tmp_path / "cut.onnx"
    truncated.write_bytes(build_inverting_model(32).SerializeToString()[:200])
    with pytest.raises(UserError, match="not a readable ONNX model|cannot load"):
        Swapper(truncated)
    with pytest.raises(UserError, match="does not exist"):
        Swapper(tmp_path / "missing.onnx")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    relu = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    with pytest.raises(ContractError, match="no input 'in_face'"):
        Swapper(relu)


def test_unknown_provider_is_rejected_by_settings():
    with pytest.raises(UserError, match="choose one of"):
        SwapSettings(provider="metal")
