"""The live loop: capture thread → processing thread → output (calling thread), joined by bounded
queues that keep the newest frames.

Low latency first: when processing falls behind a live source, the oldest queued frame is dropped
(counted), so the output never trails the camera by more than the queue depth; no frame is
processed twice. With ``every`` pacing the queues block instead and every frame is processed.

Faults never stop the stream: no face, a malformed frame, a NaN/Inf model output or an unexpected
error in a stage make the original frame pass through, and the reason is counted in the report.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .align import Aligner, transform_points
from .blend import Blender
from .capture import Frame, Source
from .color import ColorMatcher
from .detect import Detector, choose_faces
from .mask import MaskBuilder
from .occlusion import HandOcclusion
from .output import Sink
from .report import RunStats
from .settings import Settings, setting
from .stabilize import LandmarkStabilizer
from .stopping import stop_requests
from .swap import Swapper
from .warp import crop_aligned


@dataclass(frozen=True)
class PipelineSettings(Settings):
    section = "pipeline"
    queue_depth: int = setting(1, "frames waiting between stages (1 = lowest latency)", low=1, high=2)
    max_frames: int = setting(0, "stop after this many output frames (0 = until the input ends)", low=0)
    seconds: float = setting(0.0, "stop after this many seconds (0 = no limit)", low=0.0)


class FrameFault(Exception):
    """A problem with one frame: the frame passes through and ``kind`` is counted."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class Processed:
    frame: Frame
    image: np.ndarray  # (H, W, 3) uint8 BGR, what goes to the sink
    faces_swapped: int = 0
    fault: str | None = None  # why the original passed through (None = swapped or no face)
    stages_ms: dict[str, float] = field(default_factory=dict)
    original: np.ndarray | None = None  # the frame before swapping, when the processor keeps it
    # the first face's aligned crop and the model's rendering of it ((R, R, 3) float32 BGR 0..1), when
    # the processor keeps faces (the studio's "aligned" and "model" views)
    aligned: np.ndarray | None = None
    rendered: np.ndarray | None = None


class StageClock:
    """Per-frame stage timer: ``with clock("swap"): …`` adds the elapsed ms to the stage."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self._stage = ""
        self._start = 0.0

    def __call__(self, stage: str) -> StageClock:
        self._stage = stage
        return self

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc) -> None:
        self.ms[self._stage] = self.ms.get(self._stage, 0.0) + (time.perf_counter() - self._start) * 1e3


def conform(image: object, width: int, height: int) -> np.ndarray:
    """Any decodable frame-like array → (height, width, 3) uint8 BGR; raises FrameFault if hopeless."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        raise FrameFault("bad_frame")
    if image.dtype != np.uint8:
        image = np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.shape[2] != 3:
        raise FrameFault("bad_frame")
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


class FrameProcessor:
    """detect → (occlusion) → stabilize → align → swap → mask → colour → blend for one frame at a time."""

    def __init__(
        self,
        detector: Detector,
        stabilizer: LandmarkStabilizer,
        aligner: Aligner,
        swapper: Swapper,
        masker: MaskBuilder,
        color: ColorMatcher,
        blender: Blender,
        choose: str,
        keep_original: bool = False,
        occlusion: HandOcclusion | None = None,
        still_images: bool = False,
        keep_faces: bool = False,
    ):
        self.keep_original = keep_original
        self.keep_faces = keep_faces
        self.still_images = still_images
        self.detector = detector
        self.stabilizer = stabilizer
        self.aligner = aligner
        self.swapper = swapper
        self.masker = masker
        self.color = color
        self.blender = blender
        self.occlusion = occlusion
        self.choose = choose
        # the aligned crop, written in place and handed to the model as a batch of one
        self._crop = np.zeros((swapper.resolution, swapper.resolution, 3), np.float32)

    def __call__(self, frame: Frame, width: int, height: int) -> Processed:
        clock = StageClock()
        try:
            if frame.fault is not None:  # a stand-in from the source (camera lost): nothing to swap
                raise FrameFault(frame.fault)
            image = frame.image
            if not (isinstance(image, np.ndarray) and image.shape == (height, width, 3) and image.dtype == np.uint8):
                raise FrameFault("bad_frame")
            original = image.copy() if self.keep_original else None
            kept: list[np.ndarray] = []
            faces_swapped = self._swap_faces(image, frame.media_time, clock, kept if self.keep_faces else None)
            return Processed(frame, image, faces_swapped, None, clock.ms, original, *(kept or (None, None)))
        except FrameFault as fault:
            return self._pass_through(frame, fault.kind, clock, width, height)
        except Exception as err:  # a stage bug must not stop the stream; the report names it
            return self._pass_through(frame, f"error:{type(err).__name__}", clock, width, height)

    def _pass_through(self, frame: Frame, kind: str, clock: StageClock, width: int, height: int) -> Processed:
        try:
            image = conform(frame.image, width, height)
        except FrameFault:
            image = np.zeros((height, width, 3), np.uint8)
        return Processed(frame, image, 0, kind, clock.ms, image.copy() if self.keep_original else None)

    def _swap_faces(
        self, image: np.ndarray, media_time: float, clock: StageClock, kept: list[np.ndarray] | None
    ) -> int:
        if self.still_images:  # unrelated photos: nothing measured on one may smooth the next
            self.stabilizer.reset()
            self.color.reset()
            self.blender.reset()
        with clock("detect"):
            faces = choose_faces(self.detector(image), image.shape[:2], self.choose)
        if not faces:
            self.color.reset()
            self.blender.reset()
            return 0
        hands = []
        if self.occlusion is not None:
            with clock("occlusion"):
                hands = self.occlusion(image)
        with clock("stabilize"):
            faces = self.stabilizer(faces, media_time)
        size = self.swapper.resolution
        pastes = []
        for track, landmarks in enumerate(faces):
            with clock("align"):
                matrix = self.aligner.matrix(landmarks)
                crop = crop_aligned(image, matrix, size, out=self._crop)
            with clock("swap"):
                face_mask, celeb, celeb_mask = self.swapper(crop)
                if not (np.isfinite(celeb).all() and np.isfinite(face_mask).all() and np.isfinite(celeb_mask).all()):
                    raise FrameFault("nan_output")
                if kept is not None and track == 0:  # copies: the crop buffer is reused next frame
                    kept += [crop.copy(), celeb.copy()]
            with clock("mask"):
                occluder = self.occlusion.mask(hands, matrix, size) if self.occlusion is not None else None
                aligned = transform_points(matrix, landmarks)
                masks = self.masker(face_mask, celeb_mask, aligned, occluder)
            with clock("color"):
                face = self.color(celeb, crop, masks.skin, media_time, track)
            with clock("blend"):
                face = self.blender(face, crop, masks.face, masks.visible, media_time, track)
                detail = self.blender.detail_mask(masks.skin, aligned)
            pastes.append((face, masks.alpha, matrix, detail))
        # paste only once every face succeeded, so a fault leaves the original frame untouched
        with clock("blend"):
            for face, alpha, matrix, detail in pastes:
                self.blender.paste(image, face, alpha, matrix, detail)
        return len(pastes)


class FrameQueue:
    """Bounded FIFO between two threads. ``drop_oldest``: a full put discards the oldest item
    (counted in ``dropped``); otherwise a full put waits. ``close`` wakes every waiter."""

    def __init__(self, depth: int, drop_oldest: bool):
        self._items: collections.deque = collections.deque()
        self._depth = depth
        self._drop_oldest = drop_oldest
        self._cond = threading.Condition()
        self.closed = False
        self.dropped = 0

    def put(self, item) -> None:
        with self._cond:
            while len(self._items) >= self._depth and not self.closed:
                if self._drop_oldest:
                    self._items.popleft()
                    self.dropped += 1
                else:
                    self._cond.wait()
            if self.closed:
                return
            self._items.append(item)
            self._cond.notify_all()

    def get(self):
        """The oldest item, or None once the queue is closed and empty."""
        with self._cond:
            while not self._items and not self.closed:
                self._cond.wait()
            item = self._items.popleft() if self._items else None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Pipeline:
    """Runs source → processor → sink until the input ends, a limit is reached, Ctrl-C or SIGTERM.

    ``own_size``: process each frame at its own size (photos of different sizes) instead of
    conforming it to width × height; the sink receives it so. ``stop``: an event another thread sets
    to end the run as if the input had ended."""

    def __init__(
        self,
        source: Source,
        process: Callable[[Frame, int, int], Processed],
        sink: Sink,
        width: int,
        height: int,
        settings: PipelineSettings = PipelineSettings(),
        on_output: Callable[[Processed], None] | None = None,
        own_size: bool = False,
        stop: threading.Event | None = None,
    ):
        self.own_size = own_size
        self.source = source
        self.process = process
        self.sink = sink
        self.width, self.height = width, height
        self.settings = settings
        self.on_output = on_output
        live = source.live
        self.captured = FrameQueue(settings.queue_depth, drop_oldest=live)
        self.processed = FrameQueue(settings.queue_depth, drop_oldest=live)
        # set by Ctrl-C, a limit, or whoever handed it in (the studio, to switch input or model)
        self.stop = stop if stop is not None else threading.Event()
        self._draining = False  # Ctrl-C or SIGTERM: the frames in flight are still written
        self.stats = RunStats()
        self._errors: list[BaseException] = []

    def _capture_loop(self) -> None:
        try:
            while not self.stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                self.stats.captured(frame.timestamp)
                self.captured.put(frame)
        except BaseException as err:  # surfaced in run(); the stream ends as if the input ended
            self._errors.append(err)
        finally:
            self.captured.close()

    def _process_loop(self) -> None:
        try:
            while (frame := self.captured.get()) is not None:
                width, height = self.width, self.height
                if self.own_size and isinstance(frame.image, np.ndarray) and frame.image.ndim == 3:
                    height, width = frame.image.shape[:2]
                self.processed.put(self.process(frame, width, height))
        except BaseException as err:
            self._errors.append(err)
        finally:
            self.processed.close()

    def run(self) -> RunStats:
        threads = [
            threading.Thread(target=self._capture_loop, name="capture", daemon=True),
            threading.Thread(target=self._process_loop, name="process", daemon=True),
        ]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        try:
            with stop_requests(self._request_stop):
                while (result := self.processed.get()) is not None:
                    self.sink.write(result.image, result.frame)
                    self.stats.output(result, time.perf_counter())
                    if self.on_output is not None:
                        self.on_output(result)
                    if self._limit_reached(started) or self.sink.closed_by_user or self._stopped_from_outside():
                        break
        except KeyboardInterrupt:  # Ctrl-C a second time: the orderly stop did not come soon enough
            print("swapcam: stopping now", file=sys.stderr)
        finally:
            self.stop.set()
            self.captured.close()
            self.processed.close()
            for thread in threads:
                thread.join(timeout=5)
            self.stats.dropped = self.source.skipped + self.captured.dropped + self.processed.dropped
        if self._errors:
            raise self._errors[0]
        return self.stats

    def _request_stop(self) -> None:
        """Ctrl-C or SIGTERM: capture no more; the frames already captured are processed and written,
        then the loop ends as at the end of the input."""
        self._draining = True
        self.stop.set()
        self.captured.close()

    def _stopped_from_outside(self) -> bool:
        """The ``stop`` event was set by another thread (the studio switching input or model): end now,
        not after the frames in flight as on Ctrl-C."""
        return self.stop.is_set() and not self._draining

    def _limit_reached(self, started: float) -> bool:
        s = self.settings
        if s.max_frames and self.stats.frames >= s.max_frames:
            return True
        return bool(s.seconds) and time.perf_counter() - started >= s.seconds
