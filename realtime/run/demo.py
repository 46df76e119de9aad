"""``swapcam demo``: the shipped demo model on a synthetic camera, no camera, GPU or data needed.

It streams the synthetic identity ``ada`` (the camera side) at camera pace through the full live
pipeline with the demo model, which renders her as the synthetic identity ``bo``, and writes
``demo.mp4``: original | swapped side by side, with the stage timings of each frame and the
disclosure label. The swapped stream can also go to a virtual camera.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import UserError
from ..core.files import require_folder
from ..core.settings import Settings, setting
from ..sinks.base import OutputSettings, Stream
from ..sinks.recording import FileSink
from ..stages.color import COLOR_TRANSFERS
from .config import LiveConfig
from .live import LiveRun, run_live
from .processor import Processed
from .report import stage_table

DEMO_MODEL = Path(__file__).parents[1] / "data" / "demo.onnx"
DEMO_INPUT = "synthetic:identity=ada,seed=7,size=640x360,fps=30"
# sections whose flags `swapcam demo` does not take: it picks its own input, outputs and length, and
# has a --color of its own (a config file's other [pipeline] and [color] settings still apply)
DEMO_SETS = ("capture", "output", "pipeline", "color")


@dataclass(frozen=True)
class DemoSettings(Settings):
    section = "demo"
    seconds: float = setting(10.0, "length of the demo", low=1.0, high=3600.0)
    video: str = setting("demo.mp4", "side-by-side video to write")
    output: str = setting(
        "auto",
        "also stream the swapped frames: auto (virtual camera when one exists), virtualcam, window or null",
        choices=("auto", "virtualcam", "window", "null"),
    )
    # rct, as swapcam live: with the seamless edge, "none" left bo's dark face in the middle of a rim
    # graded into ada's pale skin, a two-tone patch
    color: str = setting(
        "rct",
        "colour transfer (none keeps bo's own skin tone, with a visible edge)",
        choices=tuple(COLOR_TRANSFERS.names()),
    )


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.45) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def side_by_side(result: Processed) -> np.ndarray:
    """(H, 2W, 3) uint8: the original frame | the swapped frame, with this frame's stage timings.

    The swapped half already carries the disclosure label (the live run's sink draws it); the
    original half is not altered, so it is not labelled."""
    original = result.original if result.original is not None else result.image
    panel = np.hstack([original, result.image])
    width = original.shape[1]
    _text(panel, "camera (synthetic: ada)", (10, 22))
    _text(
        panel,
        "swapcam output (demo model: bo)" if result.faces_swapped else f"passed through ({result.fault or 'no face'})",
        (width + 10, 22),
    )
    for row, (stage, ms) in enumerate(result.stages_ms.items()):
        _text(panel, f"{stage:<9} {ms:5.1f} ms", (width + 10, 46 + 16 * row), 0.4)
    return panel


def run_demo(settings: DemoSettings, config: LiveConfig = LiveConfig()) -> dict:
    if not DEMO_MODEL.exists():
        raise UserError(f"the demo model {DEMO_MODEL} is missing: rebuild it with python -m swapcam.export.demo_model")
    require_folder(settings.video)
    # auto: the virtual camera when one opens, else only the video (no window: the demo writes demo.mp4
    # to look at); swapcam live's auto resolution with other candidates
    output = "auto:virtualcam,null" if settings.output == "auto" else settings.output
    # the demo sets its length and colour mode; every other setting (a config file's [color]
    # smoothing, [pipeline] queue depth, …) stays as given
    config = config.replace(
        pipeline=config.pipeline.replace(seconds=settings.seconds),
        color=config.color.replace(mode=settings.color),
    )
    video: FileSink | None = None

    def record(result: Processed) -> None:
        nonlocal video
        panel = side_by_side(result)
        if video is None:
            stream = Stream(panel.shape[1], panel.shape[0], 30.0)
            video = FileSink(settings.video, stream, OutputSettings())
        video.write(panel, result.frame)

    try:
        report = run_live(
            LiveRun(
                input=DEMO_INPUT, model=DEMO_MODEL, output=output, config=config, on_output=record, keep_original=True
            )
        )
    finally:
        if video is not None:
            video.close()
    for line in stage_table(report):
        print("swapcam demo: " + line, file=sys.stderr)
    print(f"swapcam demo: wrote {settings.video} (original | swapped)", file=sys.stderr)
    return report
