"""Assembles a live run from settings: model, detector, source, sink, pipeline, report.

Used by ``swapcam live`` and by anything else that streams (the demo, benchmarks, tests), so all of
them run exactly the same code.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from threadpoolctl import threadpool_limits

from .. import __version__
from ..core.errors import UserError
from ..core.files import require_folder
from ..core.settings import to_dict
from ..provenance.label import EditingSink, draw_label
from ..provenance.signing import load_signing, sign_recordings
from ..provenance.watermark import Payload, Watermarker, model_fingerprint
from ..sinks.base import Sink, Stream
from ..sinks.fanout import Outputs, open_outputs
from ..sources.base import Frame, Source
from ..sources.capture import input_kind, open_source
from ..sources.reopen import outage_report
from ..stages.align import AlignStage
from ..stages.base import StageContext
from ..stages.color import ColorStage, ColorTransfer
from ..stages.order import STAGES
from ..stages.swap import Swapper
from ..stages.warp import crop_aligned, paste_back
from .budget import FrameBudget
from .config import LiveConfig
from .loop import Pipeline
from .processor import FrameProcessor, Processed
from .report import peak_rss_mb, summary_lines, write_json_atomic
from .retune import LiveControl, Retuner


@dataclass
class LiveRun:
    input: str
    model: str | Path | onnx.ModelProto
    output: str | Sequence[str]  # one output or several (each gets every frame)
    config: LiveConfig = field(default_factory=LiveConfig)
    report_path: str | Path | None = None
    on_output: Callable[[Processed], None] | None = None
    keep_original: bool = False  # Processed.original holds each frame before swapping (side-by-side views)
    keep_faces: bool = False  # Processed.aligned and .rendered hold the first face (the studio's views)
    # settings changed while streaming, and a request to stop (the studio); config is where it starts
    control: LiveControl | None = None

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.output,) if isinstance(self.output, str) else tuple(self.output)


class _Replay:
    """A source with its first frame already read (to size the sink) put back in front."""

    def __init__(self, source: Source, first: Frame):
        self._source = source
        self._first: Frame | None = first
        self.fps, self.live, self.length = source.fps, source.live, source.length

    @property
    def skipped(self) -> int:
        return self._source.skipped

    @property
    def unreadable(self) -> int:
        return self._source.unreadable

    def read(self) -> Frame | None:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        return self._source.read()

    def close(self) -> None:
        self._source.close()


def build_processor(
    config: LiveConfig, context: StageContext, keep_original: bool = False, keep_faces: bool = False
) -> FrameProcessor:
    """A frame processor with every stage of :data:`STAGES` built from its section of ``config``."""
    stages = {spec.name: spec.build(getattr(config, spec.name), context) for spec in STAGES}
    return FrameProcessor(stages, context.still_images, keep_original, keep_faces)


def warm_up(size: int, transfer: ColorTransfer) -> None:
    """Run the frame path's Numba kernels and colour transfer once on dummy faces of ``size``.

    Numba compiles (or loads its cache) on first call: most of a second per kernel on a cold cache,
    as on a fresh clone. Done before the clock starts, so those frames are not dropped as late. The
    mask is not all zero: an empty paste box would never reach the blend kernel."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (size * 2, size * 2, 3), dtype=np.uint8)
    matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    crop = np.empty((size, size, 3), np.float32)
    crop_aligned(frame, matrix, size, out=crop)
    mask = np.ones((size, size), np.float32)
    face = transfer(rng.random((size, size, 3), dtype=np.float32), crop, mask)
    paste_back(frame, face, mask, matrix)


def _paced(
    config: LiveConfig, source: Source, still: bool, control: LiveControl | None, log: Callable[[str], None]
) -> tuple[LiveControl | None, FrameBudget | None]:
    """The run's control and frame budget. A run that must keep up with its input (a camera, or a
    file or generator paced in real time) gets a budget unless shedding is off, and a control through
    which the budget's changes reach the stages as the studio's do; frames processed one by one have
    no period."""
    if not config.budget.shed or still or not source.live or source.fps <= 0:
        return control, None
    paced = control or LiveControl(config)
    return paced, FrameBudget(config.budget, 1000 / source.fps, config.pipeline.overlap, lambda: paced.config, log)


def run_live(run: LiveRun, log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Stream ``run.input`` through the model to ``run.output``; returns (and writes) the report."""
    # NumPy's BLAS would split the frame path's tiny matrix products (colour statistics, landmark
    # transforms) over threads that then wait for cores the model and the detector hold: the colour
    # stage measured 1.8 ms instead of 0.9 ms at 128 px with both cores busy, 20 ms at worst.
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_live(run, log)


def _run_live(run: LiveRun, log: Callable[[str], None]) -> dict[str, Any]:
    cfg = run.config
    if run.report_path is not None:
        require_folder(run.report_path)
    signing = load_signing(cfg.provenance, run.outputs)
    swapper = Swapper(run.model, cfg.swap)
    fingerprint = model_fingerprint(run.model if isinstance(run.model, (str, Path)) else run.model.SerializeToString())
    _, kind = input_kind(run.input)
    # photos are unrelated frames of any size: each is searched anew and swapped at its own size
    still = kind.still_images
    context = StageContext(run.model, still, swapper)
    processor = build_processor(cfg, context, run.keep_original, run.keep_faces)
    warm_up(swapper.resolution, processor.stage("color", ColorStage).matcher.transfer)
    coverage = processor.stage("align", AlignStage).aligner.coverage
    source: Source | None = None
    outputs: Outputs | None = None
    try:  # a refused input or output closes the stages too (the studio runs many in one process)
        source = open_source(run.input, cfg.capture)
        first = source.read()
        if first is None:
            raise UserError(f"input {run.input} has no frames: check the file or folder")
        height, width = first.image.shape[:2]
        path = Path(run.input.partition(":")[2]) if kind.path else None
        stream = Stream(width, height, source.fps, source.live, path, cfg.capture.loop)
        outputs = open_outputs(run.outputs, stream, cfg.output, log)
        # the label is drawn first, then the mark goes over everything, label included
        sink: Sink = outputs
        if cfg.provenance.watermark:
            sink = EditingSink(sink, Watermarker(Payload(fingerprint)))
        if cfg.output.label:
            sink = EditingSink(sink, functools.partial(draw_label, text=cfg.output.label))
        size = f"photos, the first {width}x{height}" if still else f"{width}x{height}"
        log(
            f"swapcam: {run.input} ({size} @ {source.fps:.3g} fps, "
            f"{'live' if source.live else 'every frame'}) → {swapper.name} [{swapper.provider}, "
            f"{swapper.resolution}px, coverage {coverage}] → {' + '.join(run.outputs)}"
        )
        replay = _Replay(source, first)
        control, budget = _paced(cfg, source, still, run.control, log)
        process = processor if control is None else Retuner(processor, control, cfg, context, budget)
        stop = control.stop if control is not None else None
        pipeline = Pipeline(replay, process, sink, width, height, cfg.pipeline, run.on_output, still, stop, budget)
        stats = pipeline.run()
    finally:
        if source is not None:
            source.close()
        processor.close()  # the stages in use at the end: a change may have replaced them
        if outputs is not None:
            outputs.close()
    assert source is not None and outputs is not None  # the pipeline ran, so both were open
    if signing is not None:
        sign_recordings(run.outputs, signing, swapper.name, f"{fingerprint:06x}", log)
    report = stats.report(
        input=run.input,
        output=list(run.outputs),
        outputs=outputs.report(),
        model=swapper.name,
        provider=swapper.provider,
        resolution=swapper.resolution,
        model_fingerprint=f"{fingerprint:06x}",
        watermark=cfg.provenance.watermark,
        coverage=coverage,
        width=width,
        height=height,
        input_fps=round(source.fps, 3),
        swapcam_version=__version__,
        peak_rss_mb=peak_rss_mb(),
        **outage_report(source),
        shed=budget.report() if budget is not None else None,
        settings={name: to_dict(value) for name, value in cfg.sections()},
    )
    for line in summary_lines(report):
        log("swapcam: " + line)
    if run.report_path is not None:
        write_json_atomic(run.report_path, report)
    return report
