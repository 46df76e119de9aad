"""Swap stage: an onnxruntime session for a contract-following model.

Pure core: :func:`run_swap` (arrays in, arrays out). Wrapper: :class:`Swapper` (loads, validates,
chooses the execution provider).
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ..core.errors import UserError
from ..core.registry import Registry
from ..core.settings import Settings, setting
from .base import FaceWork, FrameFault, FrameWork, Stage, StageContext, StageSpec
from .contract import INPUT_FACE, INPUT_MORPH, ContractError, ModelCard, ModelIO, TensorInfo, check_io


@dataclass(frozen=True)
class ExecutionProvider:
    """An onnxruntime execution provider and how to tell whether this machine can run it."""

    ort_name: str
    usable: Callable[[], bool]
    fix: str


def _nvidia_driver_present() -> bool:
    # onnxruntime-gpu lists CUDA/TensorRT even where no NVIDIA driver exists and then prints loud
    # errors while falling back; asking only when the driver library is there keeps `auto` quiet.
    return ctypes.util.find_library("cuda") is not None or Path("/usr/lib/x86_64-linux-gnu/libcuda.so.1").exists()


PROVIDERS: Registry[ExecutionProvider] = Registry("execution provider")
PROVIDERS.register("tensorrt")(
    ExecutionProvider(
        "TensorrtExecutionProvider",
        _nvidia_driver_present,
        "install TensorRT 10 and make its libraries findable (LD_LIBRARY_PATH), or use --provider cuda or cpu",
    )
)
PROVIDERS.register("cuda")(
    ExecutionProvider(
        "CUDAExecutionProvider",
        _nvidia_driver_present,
        "install the NVIDIA driver, CUDA and cuDNN that your onnxruntime-gpu needs "
        "(pip install 'onnxruntime-gpu[cuda,cudnn]'), or use --provider cpu",
    )
)
PROVIDERS.register("directml")(
    ExecutionProvider(
        "DmlExecutionProvider",
        lambda: sys.platform == "win32",
        "pip install onnxruntime-directml (Windows only), or use --provider cpu",
    )
)
PROVIDERS.register("coreml")(
    ExecutionProvider(
        "CoreMLExecutionProvider", lambda: sys.platform == "darwin", "CoreML exists only on macOS; use --provider cpu"
    )
)
PROVIDERS.register("cpu")(ExecutionProvider("CPUExecutionProvider", lambda: True, ""))
AUTO_ORDER = ("tensorrt", "cuda", "directml", "coreml", "cpu")


@dataclass(frozen=True)
class SwapSettings(Settings):
    section = "swap"
    provider: str = setting(
        "auto",
        "execution provider; auto tries TensorRT, CUDA, DirectML, CoreML, then CPU",
        choices=("auto", *AUTO_ORDER),
    )
    # 0: on 2 cores (AVX2 EPYC, 720p live int8, frame budget on) one thread gave 29.2 fps and p95 78 ms
    # against 28.3 fps and 91 ms with onnxruntime's choice of two (benchmarks/RESULTS.md, 2026-12-03)
    threads: int = setting(
        0,
        "onnxruntime intra-op threads (0 = half the CPU cores: the live loop finds the next frame's faces "
        "on the other half)",
        low=0,
        high=256,
    )
    # Off by default: spinning threads took the cores detection and capture needed (720p live preset on
    # 2 cores: p95 latency 78 -> 43 ms, 27.2 -> 29.7 fps with it off; benchmarks/RESULTS.md).
    spin: bool = setting(
        False,
        "let onnxruntime's CPU threads spin waiting for work (a little faster model "
        "alone; on few cores they slow the other stages)",
    )
    morph: float = setting(
        1.0, "morph_value for models that take it (0 = camera face, 1 = source face)", low=0.0, high=1.0
    )
    # the frame budget's last resort but one (realtime/run/budget.py): the model is most of a frame's work
    render_every: int = setting(
        1,
        "run the model on every Nth frame of a face; the frames between reuse its last rendering, which "
        "moves with the face (expressions then update N times less often)",
        low=1,
        high=4,
    )


def model_threads() -> int:
    """The model's intra-op threads when none are set: half the cores this process may use (at least
    one), since the live loop finds the next frame's faces beside the model (realtime/run/loop.py)."""
    try:
        cores = len(os.sched_getaffinity(0))  # a container's or taskset's share, not the host's
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 2
    return max(1, cores // 2)


def read_model(source: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """Load an ONNX file, turning every way it can be unreadable into a one-line UserError."""
    if isinstance(source, onnx.ModelProto):
        return source
    path = Path(source)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist: check the path")
    try:
        return onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError, ValueError, … for damaged files
        raise UserError(
            f"model file {path} is not a readable ONNX model ({type(err).__name__}): re-export or re-download it"
        ) from None


def ort_session(
    model: onnx.ModelProto,
    threads: int = 0,
    spin: bool | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
):
    """An onnxruntime session of ``model``: ``threads`` intra-op threads (0 = onnxruntime's choice),
    one inter-op thread (the graph runs sequentially), warnings off; ``spin``: whether idle threads
    busy-wait for work (None = onnxruntime's default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if spin is not None:
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=list(providers))


def _tensor_infos(values) -> list[TensorInfo]:
    return [TensorInfo(v.name, v.type, list(v.shape)) for v in values]


def run_swap(session, in_face: np.ndarray, morph: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the model.

    in_face: float32 (N, R, R, 3) BGR 0..1; morph: float32 (1,) or None.
    Returns (face_mask (N,R,R,1), celeb_face (N,R,R,3), celeb_mask (N,R,R,1)), float32.
    """
    feeds = {INPUT_FACE: in_face}
    if morph is not None:
        feeds[INPUT_MORPH] = morph
    face_mask, celeb, celeb_mask = session.run(None, feeds)
    return face_mask, celeb, celeb_mask


class Swapper:
    """A loaded, validated model on the chosen execution provider."""

    def __init__(self, model: str | Path | onnx.ModelProto, settings: SwapSettings = SwapSettings()):
        import onnxruntime as ort

        self.name = model.graph.name if isinstance(model, onnx.ModelProto) else Path(model).name
        self.settings = settings
        model = read_model(model)
        metadata = {p.key: p.value for p in model.metadata_props}
        providers = self._provider_order(ort.get_available_providers())
        try:
            self.session = ort_session(model, settings.threads or model_threads(), settings.spin, providers)
        except Exception as err:  # onnxruntime's errors carry the failing node; keep just the first line
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ContractError(f"onnxruntime cannot load {self.name}: {first_line[:200]}") from None
        self.io: ModelIO = check_io(_tensor_infos(self.session.get_inputs()), _tensor_infos(self.session.get_outputs()))
        self.card = ModelCard.from_metadata(metadata, self.io.resolution)
        self.provider = self.session.get_providers()[0]
        if settings.provider != "auto" and self.provider != PROVIDERS.get(settings.provider).ort_name:
            raise UserError(
                f"execution provider {settings.provider} could not start: {PROVIDERS.get(settings.provider).fix}"
            )
        self._morph = np.array([settings.morph], np.float32) if self.io.has_morph else None

    def _provider_order(self, available: list[str]) -> list[str]:
        names = AUTO_ORDER if self.settings.provider == "auto" else (self.settings.provider, "cpu")
        chosen = []
        for name in names:
            provider = PROVIDERS.get(name)
            if provider.ort_name not in available:
                if self.settings.provider == name:
                    raise UserError(f"execution provider {name} is not in this onnxruntime build: {provider.fix}")
                continue
            if self.settings.provider == "auto" and not provider.usable():
                continue
            chosen.append(provider.ort_name)
        return list(dict.fromkeys(chosen))

    @property
    def resolution(self) -> int:
        return self.io.resolution

    def __call__(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Swap one aligned face: crop (R, R, 3) float32 BGR 0..1, C-contiguous (handed to onnxruntime
        without a copy) → (face_mask (R, R), celeb (R, R, 3), celeb_mask (R, R)) float32."""
        face_mask, celeb, celeb_mask = run_swap(self.session, crop[None], self._morph)
        return face_mask[0, :, :, 0], celeb[0], celeb_mask[0, :, :, 0]


class SwapStage(Stage):
    """Renders each aligned face as the model's identity. A new model is a new run: a change of
    these settings loads the same model with the new session options and morph value."""

    def __init__(self, settings: SwapSettings, context: StageContext):
        first = context.swapper
        session_unchanged = dataclasses.replace(settings, render_every=first.settings.render_every) == first.settings
        self.swapper = first if session_unchanged else Swapper(context.model, settings)
        self.every = 1 if context.still_images else settings.render_every
        # track → (frames it has been reused, the model's outputs); read-only, as they are shown again
        self._renders: dict[int, tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def on_face(self, face: FaceWork, work: FrameWork) -> None:
        reused, outputs = self._renders.get(face.track, (self.every, None))
        if outputs is not None and reused + 1 < self.every:
            self._renders[face.track] = (reused + 1, outputs)
        else:
            outputs = self.swapper(face.crop)
            if self.every > 1:
                for array in outputs:
                    array.flags.writeable = False
                self._renders[face.track] = (0, outputs)
        face.face_mask, face.celeb, face.celeb_mask = outputs
        if not (
            np.isfinite(face.celeb).all() and np.isfinite(face.face_mask).all() and np.isfinite(face.celeb_mask).all()
        ):
            raise FrameFault("nan_output")
        if work.keep_faces and face.track == 0:  # copies: the crop buffer is reused next frame
            work.kept = (face.crop.copy(), face.celeb.copy())

    def no_face(self) -> None:
        self._renders.clear()

    reset = no_face


SPEC = StageSpec(SwapSettings, SwapStage)
