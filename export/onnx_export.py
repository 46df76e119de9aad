"""Export the swap path of a trained model to an ONNX file that follows the model contract.

The file is written only after it passed its checks, through a temporary file and a rename, so a
failed export never leaves a half-written model behind:

* contract: names, order, shapes and dtypes as :func:`swapcam.realtime.stages.contract.check_io` wants;
* parity: onnxruntime against PyTorch on the same faces (random ones, and faceset faces when
  given): max abs difference ≤ 1e-4 for fp32, ≤ 1e-2 for fp16;
* int8: static quantization calibrated on faceset faces, the convolution that reads the face kept in
  fp32 (:func:`input_convs`); the reconstruction PSNR of the source
  faces through the swap path (which renders the source identity, so a source face must come back
  unchanged) may drop at most 1 dB against fp32, unless forced.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.files import write_atomic
from swapcam.realtime.core.registry import BadInput, Registry
from swapcam.realtime.core.timing import median_ms
from swapcam.realtime.stages.contract import INPUT_FACE, OUTPUTS, ModelCard, TensorInfo, check_io
from swapcam.realtime.stages.swap import ort_session

from .evaluate import cpu_session, masked_psnr, run_onnx

OPSET = 17
PARITY_TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2}
MAX_INT8_PSNR_DROP_DB = 1.0


@dataclass
class ExportResult:
    path: Path
    precision: str
    parity_max_abs: float | None  # fp32/fp16: worst |onnxruntime − PyTorch|
    psnr_fp32_db: float | None  # int8: source reconstruction PSNR of the fp32 graph
    psnr_db: float | None  # int8: the same for the written file


def export_fp32_proto(swap_module: nn.Module, resolution: int) -> onnx.ModelProto:
    """The swap module as an fp32 ONNX graph with a dynamic batch dimension."""
    example = torch.rand(1, resolution, resolution, 3)
    dynamic = {name: {0: "N"} for name in (INPUT_FACE, *OUTPUTS)}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export, which needs the extra
        # onnxscript package; this one makes the same plain Conv graph from what is installed.
        warnings.simplefilter("ignore", DeprecationWarning)
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            swap_module.eval(),
            (example,),
            str(path),
            input_names=[INPUT_FACE],
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
        return onnx.load(str(path))


def run_torch(swap_module: nn.Module, faces: np.ndarray, batch: int = 16) -> list[np.ndarray]:
    with torch.no_grad():
        chunks = [swap_module(torch.from_numpy(faces[i : i + batch])) for i in range(0, len(faces), batch)]
    return [np.concatenate([c[k].numpy() for c in chunks]) for k in range(3)]


def _to_fp16(model: onnx.ModelProto, calibration: np.ndarray) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    # the contract's inputs and outputs stay float32; only the inside runs in half precision
    return convert_float_to_float16(model, keep_io_types=True)


def input_convs(model: onnx.ModelProto) -> list[str]:
    """The names of the convolutions that read the graph's input (through a Transpose or not): the
    encoder's first. Quantized, it rounds the face itself to its activation grid and each of its few
    weights (3 input channels) to 8 bits; kept in fp32 it halved the int8 loss of a model fine-tuned
    from the base (benchmarks/RESULTS.md, issue 23) for under 2 % of the graph's FLOPs."""
    producer = {out: node for node in model.graph.node for out in node.output}
    inputs = {value.name for value in model.graph.input}
    found = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        name = node.input[0]
        while name in producer and producer[name].op_type == "Transpose":
            name = producer[name].input[0]
        if name in inputs:
            found.append(node.name)
    return found


def _to_int8(model: onnx.ModelProto, calibration: np.ndarray) -> onnx.ModelProto:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Faces(CalibrationDataReader):
        def __init__(self):
            self._faces = iter(calibration[i : i + 1] for i in range(len(calibration)))

        def get_next(self):
            face = next(self._faces, None)
            return None if face is None else {INPUT_FACE: face}

    with tempfile.TemporaryDirectory() as tmp:
        plain, prepared, quantized = (Path(tmp) / n for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        onnx.save(model, str(plain))
        quant_pre_process(str(plain), str(prepared))
        quantize_static(
            str(prepared),
            str(quantized),
            Faces(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=input_convs(model),
        )
        return onnx.load(str(quantized))


#: (fp32 graph, calibration faces) → graph, for each precision declared in settings.EXPORT_PRECISIONS;
#: the bad inputs are arguments of ``swapcam export RUN_DIR``
PRECISION_CONVERTERS: Registry[Callable[[onnx.ModelProto, np.ndarray], onnx.ModelProto]] = Registry("precision")
PRECISION_CONVERTERS.register(
    "fp32",
    BadInput(
        ("--precision", "fp32", "--out", "{tmp}/missing/model.onnx"),
        "cannot write {tmp}/missing/model.onnx: folder {tmp}/missing does not exist",
    ),
)(lambda model, calibration: model)
PRECISION_CONVERTERS.register(
    "fp16",
    BadInput(
        ("--precision", "fp16", "--out", "{tmp}/model.onnx", "--faceset", "{tmp}/missing"),
        "{tmp}/missing is not a faceset (no faceset.json)",
    ),
)(_to_fp16)
PRECISION_CONVERTERS.register(
    "int8",
    BadInput(
        ("--precision", "int8", "--out", "{tmp}/model.onnx"),
        "int8 export needs faceset faces to calibrate on and to measure its PSNR: give --faceset DIR",
    ),
)(_to_int8)


def export_swap_model(
    swap_module: nn.Module,
    card: ModelCard,
    out: str | Path,
    precision: str = "fp32",
    source_faces: np.ndarray | None = None,
    target_faces: np.ndarray | None = None,
    force: bool = False,
) -> ExportResult:
    """Export, check and write the swap path.

    swap_module: NHWC contract module (see ``models.build_swap_module``); source_faces / target_faces:
    (N, R, R, 3) float32 BGR 0..1 faceset faces (int8 needs them for calibration and its PSNR check).
    """
    to_precision = PRECISION_CONVERTERS.get(precision)
    resolution = card.resolution
    fp32 = export_fp32_proto(swap_module, resolution)
    rng = np.random.default_rng(0)
    random_faces = rng.random((4, resolution, resolution, 3), dtype=np.float32)
    real = [f for f in (source_faces, target_faces) if f is not None and len(f)]
    calibration = np.concatenate(real) if real else random_faces
    if precision == "int8" and not real:
        raise UserError("int8 export needs faceset faces to calibrate on and to measure its PSNR: give --faceset DIR")
    model = to_precision(fp32, calibration)
    onnx.helper.set_model_props(model, {"swapcam": card.to_json()})
    session = cpu_session(model)
    check_io(
        [TensorInfo(v.name, v.type, list(v.shape)) for v in session.get_inputs()],
        [TensorInfo(v.name, v.type, list(v.shape)) for v in session.get_outputs()],
    )

    result = ExportResult(Path(out), precision, None, None, None)
    if precision in PARITY_TOLERANCE:
        faces = np.concatenate([random_faces, *(f[:16] for f in real)])
        worst = max(
            float(np.abs(a - b).max())
            for a, b in zip(run_onnx(model, faces), run_torch(swap_module, faces), strict=True)
        )
        result.parity_max_abs = worst
        if not worst <= PARITY_TOLERANCE[precision]:
            raise UserError(
                f"{precision} export failed parity: onnxruntime differs from PyTorch by {worst:.2e} "
                f"(allowed {PARITY_TOLERANCE[precision]:.0e}); nothing was written"
            )
    else:
        faces = source_faces[:64] if source_faces is not None and len(source_faces) else calibration[:64]
        reference = run_onnx(fp32, faces)
        quantized = run_onnx(model, faces)
        result.psnr_fp32_db = masked_psnr(reference[1], faces, reference[2])
        result.psnr_db = masked_psnr(quantized[1], faces, reference[2])
        drop = result.psnr_fp32_db - result.psnr_db
        if drop > MAX_INT8_PSNR_DROP_DB and not force:
            raise UserError(
                f"int8 loses {drop:.2f} dB of reconstruction PSNR against fp32 (allowed "
                f"{MAX_INT8_PSNR_DROP_DB} dB); nothing was written: use fp32, or --force to write it anyway"
            )
    write_atomic(out, lambda tmp: onnx.save(model, tmp))
    return result


def ms_per_face(model: onnx.ModelProto, resolution: int, threads: int = 2, runs: int = 50) -> float:
    """Median onnxruntime CPU time of one face, after a warm-up run."""
    session = ort_session(model, threads)
    face = np.random.default_rng(1).random((1, resolution, resolution, 3), dtype=np.float32)
    return median_ms(lambda: session.run(None, {INPUT_FACE: face}), runs, warmup=1)
