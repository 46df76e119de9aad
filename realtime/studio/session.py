"""The studio's stream: the live pipeline run after run on a thread of its own, switched from the page.

Settings of the frame stages go to the running stream through its :class:`LiveControl` (from the next
frame, realtime/run/retune.py). A new input, model or virtual camera, or a change to the run's own
sections (capture, output, pipeline), ends the run and starts the next with it; if the new run
cannot start (no camera at that index, a model that breaks the contract), the stream goes back to
what ran before and the page shows why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from ..core.errors import UserError
from ..core.settings import load_config
from ..run.config import LiveConfig, frame_sections
from ..run.demo import DEMO_MODEL
from ..run.live import LiveRun, run_live
from ..run.processor import Processed
from ..run.retune import LiveControl, changed_sections
from ..sources.capture import input_kind
from .folders import Folders
from .panel import apply_changes, config_from_toml, config_values, preset_toml
from .tap import StreamTap

DEMO = "demo"


@dataclass(frozen=True)
class Wanted:
    """What a run streams: ``model`` is a path (or the demo model), ``model_name`` how the page names it."""

    input: str
    model: Path
    model_name: str
    outputs: tuple[str, ...]

    @property
    def virtualcam(self) -> bool:
        return "virtualcam" in self.outputs


class Session:
    def __init__(
        self,
        wanted: Wanted,
        config: LiveConfig,
        folders: Folders,
        report_path: str | None = None,
        log: Callable[[str], None] = print,
    ):
        self.wanted = wanted
        self.started_with = config
        self.config = config
        self.folders = folders
        self.report_path = report_path
        self.log = log
        self.tap = StreamTap()
        self.control = LiveControl(config)
        self.state = "starting"
        self.message: str | None = None
        self.runs = 0  # runs started: the page (and tests) tell a restarted stream by it
        self._lock = threading.Lock()  # one change at a time from the page's threads
        self._restart = False
        self._wake = threading.Event()
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._run_forever, name="studio stream")

    # the stream thread

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        self._quit.set()
        self.control.stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run_forever(self) -> None:
        streamed: Wanted | None = None  # the last run that reached the page
        while not self._quit.is_set():
            with self._lock:  # a change asked for from now on goes to this run, not the one before
                wanted, config, self._restart = self.wanted, self.config, False
                self.control = LiveControl(config)
                self.runs += 1
            self.tap.start_run()
            self.state = "starting"
            run = LiveRun(
                wanted.input, wanted.model, list(wanted.outputs), config, self.report_path,
                self._on_output, keep_original=True, keep_faces=True, control=self.control,
            )  # fmt: skip
            try:
                run_live(run, self.log)
            except Exception as err:  # a run that cannot start or fails never ends the studio
                self.message = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
                self.log(f"swapcam studio: {self.message}")
                if self.tap.frames == 0 and streamed is not None and streamed != wanted and not self._restart:
                    self.wanted = streamed  # back to what worked; the page keeps the message
                    continue
                self.state = "error"
            else:
                self.state = "ended"
                if not self._restart:
                    self.message = "the input ended: choose another input or restart it"
            finally:
                # the next run may have another frame size; the page may have just stopped it itself
                with contextlib.suppress(UserError):
                    self.tap.stop_recording()
            if self.tap.frames:
                streamed = wanted
            if not self._restart:
                self._wake.wait()
            self._wake.clear()

    def _on_output(self, result: Processed) -> None:
        self.state = "streaming"
        self.tap.on_output(result)

    def _restart_with(self, wanted: Wanted) -> None:
        self.wanted = wanted
        self.message = None  # a new request: what went wrong before is no longer the news
        self._restart = True
        self.control.stop.set()
        self._wake.set()

    # what the page asks for

    def change_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._publish(apply_changes(self.config, changes))

    def _publish(self, config: LiveConfig) -> dict[str, Any]:
        """Hand ``config`` to the stream: from the next frame, or by a new run for the run's sections."""
        restart = set(changed_sections(self.config, config)) - frame_sections()
        self.config = config
        self.control.update(lambda _: config)
        if restart:
            self._restart_with(self.wanted)
        return {"settings": config_values(config), "restarted": sorted(restart)}

    def reset_settings(self) -> dict[str, Any]:
        with self._lock:
            return self._publish(self.started_with)

    def switch_input(self, spec: str) -> None:
        name, kind = input_kind(spec)
        argument = spec.partition(":")[2]
        if kind.path:  # files and photo folders only from the media folder
            spec = f"{name}:{self.folders.media_file(argument)}"
        elif name == "camera" and argument and not argument.isdigit():
            raise UserError(f"camera:{argument} is not a camera index: use camera:0, camera:1, …")
        elif name == "synthetic":
            from ..sources.synthetic import SyntheticSettings

            SyntheticSettings.from_spec(argument)  # a bad option is refused here, not by a failed run
        with self._lock:
            self._restart_with(dataclasses.replace(self.wanted, input=spec))

    def switch_model(self, name: str) -> None:
        path = DEMO_MODEL if name == DEMO else self.folders.model(name)
        with self._lock:
            self._restart_with(dataclasses.replace(self.wanted, model=path, model_name=name))

    def set_virtualcam(self, on: bool) -> None:
        with self._lock:
            outputs = tuple(o for o in self.wanted.outputs if o != "virtualcam") + (("virtualcam",) if on else ())
            self._restart_with(dataclasses.replace(self.wanted, outputs=outputs or ("null",)))

    def start_recording(self, name: str | None) -> dict[str, Any]:
        name = name or time.strftime("studio-%Y%m%d-%H%M%S.mp4")
        path = self.folders.new_file(self.folders.recordings, name, ".mp4", "recordings")
        self.tap.start_recording(path, self.config.output)
        return {"recording": self.tap.recording}

    def stop_recording(self) -> dict[str, Any]:
        return {"recorded": self.tap.stop_recording()}

    def snapshot(self) -> dict[str, Any]:
        image = self.tap.snapshot()
        name = time.strftime("snapshot-%Y%m%d-%H%M%S") + f"-{time.time_ns() // 1_000_000 % 1000:03d}.png"
        path = self.folders.new_file(self.folders.recordings, name, "", "recordings")
        if not cv2.imwrite(str(path), image):
            raise UserError(f"cannot write {path}: check the recordings folder's permissions")
        return {"snapshot": path.name}

    def save_preset(self, name: str) -> dict[str, Any]:
        path = self.folders.new_file(self.folders.presets, name, ".toml", "presets")
        if path.suffix != ".toml":
            raise UserError(f"preset {name!r} must be a .toml name (or a name without a suffix)")
        path.write_text(preset_toml(self.config, f"swapcam studio preset: swapcam live --config {path.name}"))
        return {"preset": path.stem}

    def load_preset(self, name: str) -> dict[str, Any]:
        path = self.folders.new_file(self.folders.presets, name, ".toml", "presets")
        if not path.is_file():
            raise UserError(f"there is no preset {name!r}: pick one the list shows")
        config = config_from_toml(load_config(path))
        with self._lock:
            return self._publish(config)

    def status(self) -> dict[str, Any]:
        wanted = self.wanted
        return {
            "state": self.state,
            "run": self.runs,
            "message": self.message,
            "input": wanted.input,
            "model": wanted.model_name,
            "outputs": list(wanted.outputs),
            "virtualcam": wanted.virtualcam,
            "recording": self.tap.recording,
            "retune_error": self.control.error,
        }
