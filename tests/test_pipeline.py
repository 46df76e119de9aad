"""End-to-end: a synthetic clip through mediapipe, the inverting model and the file sink."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from swapcam.realtime.provenance.label import ProvenanceSettings
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import Pipeline, PipelineSettings
from swapcam.realtime.run.processor import FrameProcessor, Processed
from swapcam.realtime.sinks.base import OutputSettings
from swapcam.realtime.sources.base import Frame
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.blend import BlendSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.mask import MaskSettings

N_FRAMES = 120
SIZE = (640, 360)


@pytest.fixture(scope="module")
def synthetic_clip(tmp_path_factory):
    """A 120-frame mp4 of a moving synthetic face, plus its frames as decoded back from the file."""
    path = tmp_path_factory.mktemp("clips") / "synthetic.mp4"
    video = SyntheticVideo(SyntheticSettings(size=f"{SIZE[0]}x{SIZE[1]}", seed=4))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    truths = []
    for i in range(N_FRAMES):
        frame = video.frame(i)
        writer.write(frame.image)
        truths.append(frame)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    decoded = [capture.read()[1] for _ in range(N_FRAMES)]
    return path, decoded, truths


def test_stream_swaps_the_face_and_leaves_the_background(synthetic_clip, inverting_model_path, tmp_path):
    path, decoded, truths = synthetic_clip
    out, report_path = tmp_path / "out.mp4", tmp_path / "r.json"
    outputs: dict[int, Processed] = {}
    # no colour transfer, no seamless edge, no camera mouth or eyes: the face pixels must be the
    # model's exact inversion
    config = LiveConfig(
        color=ColorSettings(mode="none"),
        blend=BlendSettings(mode="alpha"),
        mask=MaskSettings(keep_mouth=0.0, keep_eyes=0.0),
        output=OutputSettings(label=""),
        provenance=ProvenanceSettings(watermark=False),  # the background is checked bit for bit
    )
    report = run_live(
        LiveRun(
            input=f"file:{path}",
            model=inverting_model_path,
            output=f"file:{out}",
            config=config,
            report_path=report_path,
            on_output=lambda p: outputs.setdefault(p.frame.index, p),
        ),
        log=lambda line: None,
    )
    assert json.loads(report_path.read_text()) == json.loads(json.dumps(report))
    assert report["frames"] == N_FRAMES == report["frames_swapped"] + report["frames_passed_through"]
    assert report["frames_dropped"] == 0  # files are processed frame by frame
    assert report["frames_swapped"] >= 0.95 * N_FRAMES
    assert report["latency_ms"]["p50"] > 0 and report["fps"] > 0
    assert {"detect", "align", "swap", "mask", "color", "blend"} <= set(report["stages_ms"])

    # pixel checks on near-frontal frames, where a patch around the nose tip lies inside the face
    frontal = [i for i, p in outputs.items() if p.faces_swapped and abs(truths[i].pose[0]) < 15]
    assert len(frontal) >= 20
    for i in frontal[::10]:
        original, result = decoded[i], outputs[i].image
        truth = truths[i].landmarks
        x0, y0 = np.floor(truth.min(0)).astype(int)
        x1, y1 = np.ceil(truth.max(0)).astype(int)
        changed = np.abs(result.astype(int) - original.astype(int)).max(2) > 0
        # background far from the face: untouched, bit for bit
        margin = (x1 - x0) // 2
        background = np.ones(changed.shape, bool)
        background[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = False
        assert not changed[background].any()
        # face centre (around the nose tip): inverted by the model. The 64 px model blurs edges,
        # so compare the patch's mean colour, which inversion maps exactly and blur preserves.
        cx, cy = truth[1].astype(int)
        patch = (slice(cy - 8, cy + 8), slice(cx - 8, cx + 8))
        result_mean = result[patch].reshape(-1, 3).mean(0)
        assert np.abs(result_mean - (255 - original[patch].reshape(-1, 3).mean(0))).max() < 12
        assert np.abs(result_mean - original[patch].reshape(-1, 3).mean(0)).max() > 30

    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == SIZE


class ScriptedSource:
    """Frames handed over as given (some deliberately broken), as fast as they are read."""

    fps, live, skipped = 30.0, False, 0

    def __init__(self, images):
        self.images = list(images)
        self.index = 0

    def read(self):
        if self.index >= len(self.images):
            return None
        frame = Frame(self.index, self.images[self.index], float(self.index), self.index / self.fps)
        self.index += 1
        return frame

    def close(self):
        pass


class ListSink:
    closed_by_user = False

    def __init__(self):
        self.frames = []

    def write(self, image, frame):
        assert image.shape == (36, 64, 3) and image.dtype == np.uint8
        self.frames.append(image.copy())

    def close(self):
        pass


class AlwaysSwaps(FrameProcessor):
    """The real fault handling of FrameProcessor around a swap that always succeeds."""

    def __init__(self):
        self.keep_original = False
        self.keep_faces = False

    def _find_faces(self, work, clock):
        pass

    def _swap_faces(self, work, clock):
        return 1


def test_faults_pass_the_original_through_and_are_counted():
    good = np.full((36, 64, 3), 90, np.uint8)
    images = [good, np.zeros((36, 64), np.uint8), None, good.astype(np.float32), np.zeros((10, 10, 3), np.uint8)]
    sink = ListSink()
    stats = Pipeline(ScriptedSource(images), AlwaysSwaps(), sink, 64, 36).run()
    assert stats.frames == 5 and len(sink.frames) == 5
    assert stats.frames_swapped == 1 and stats.faults == {"bad_frame": 4}
    assert stats.frames_swapped + stats.frames_passed_through == stats.frames
    np.testing.assert_array_equal(sink.frames[3], good)  # float frame converted, not lost


def test_nan_model_output_passes_the_frame_through(synthetic_clip, tmp_path):
    import onnx
    from onnx import helper

    from swapcam.realtime.stages.testmodel import build_inverting_model

    model = build_inverting_model(64)
    graph = model.graph
    # celeb face = (1 - x) / 0 → Inf/NaN everywhere
    graph.initializer.append(onnx.numpy_helper.from_array(np.array(0.0, np.float32), "zero"))
    for node in graph.node:
        if node.output[0] == "out_celeb_face":
            node.output[0] = "celeb_raw"
    graph.node.append(helper.make_node("Div", ["celeb_raw", "zero"], ["out_celeb_face"]))
    path, decoded, _ = synthetic_clip
    frames = []
    report = run_live(
        LiveRun(
            input=f"file:{path}",
            model=model,
            output="null",
            # unlabelled and unmarked: the frame that passes through is compared bit for bit
            config=LiveConfig(
                pipeline=PipelineSettings(max_frames=10),
                output=OutputSettings(label=""),
                provenance=ProvenanceSettings(watermark=False),
            ),
            on_output=lambda p: frames.append(p),
        ),
        log=lambda line: None,
    )
    assert report["frames"] == 10 and report["frames_swapped"] == 0
    assert report["faults"].get("nan_output", 0) >= 9
    for p in frames:
        np.testing.assert_array_equal(p.image, decoded[p.frame.index])


def test_output_frames_carry_the_disclosure_label_by_default(synthetic_clip, inverting_model_path):
    path, decoded, _ = synthetic_clip
    frames = []
    run_live(
        LiveRun(
            input=f"file:{path}",
            model=inverting_model_path,
            output="null",
            config=LiveConfig(pipeline=PipelineSettings(max_frames=3)),
            on_output=frames.append,
        ),
        log=lambda line: None,
    )
    for p in frames:
        height = p.image.shape[0]
        corner = (slice(height - 30, height), slice(0, 200))
        changed = np.abs(p.image[corner].astype(int) - decoded[p.frame.index][corner].astype(int)).max(2)
        assert (changed > 60).mean() > 0.3  # darkened box with white text
        assert (p.image[corner] > 200).all(2).sum() > 30  # the white letters


@pytest.mark.parametrize("mode", ["none", "sot"])
def test_warm_up_compiles_the_blend_kernel_before_the_clock_starts(mode):
    # In a fresh process nothing is compiled yet, so this fails if the warm-up skips a kernel
    # (as it did with an all-zero mask: the first real frame then paid ~0.7 s of compiling).
    code = (
        "from swapcam.realtime.run.live import warm_up; from swapcam.realtime.stages.color import COLOR_TRANSFERS; "
        "from swapcam.realtime.stages import warp, color_sot; "
        f"warm_up(64, COLOR_TRANSFERS.get({mode!r})); "
        "assert warp._paste_kernel.signatures, 'paste kernel not compiled'; "
        "assert warp._crop_f32.signatures, 'crop kernel not compiled'; "
        f"assert bool(color_sot.sot_step.signatures) == ({mode!r} == 'sot'), 'sot kernel'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-1500:]
