"""A real ``swapcam studio`` server in a child process, as a user starts it, and a small HTTP client for it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np

TOKEN_HEADER = "X-Swapcam-Token"


class StudioServer:
    def __init__(self, folder: Path, model: Path, *extra: str):
        self.folder = folder
        for name in ("models", "media", "recordings", "presets"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / "models" / model.name).write_bytes(model.read_bytes())
        command = [
            sys.executable, "-m", "swapcam.realtime.cli", "studio",
            "--input", "synthetic:size=320x240,fps=15,motion=0,expressions=false", "--model", str(model), "--output", "null",
            # no label and no mark: pixel checks compare the output with the camera frame exactly; no
            # frame budget: on a busy machine it would shed the settings those checks are about
            "--label", "", "--no-watermark", "--no-shed", "--port", "0", "--no-browser",
            *(f"--{name}={folder / name}" for name in ("models", "media", "recordings", "presets")),
            *extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "swapcam studio: open http://127.0.0.1:PORT/?token=…"
        if "http://" not in line:
            self.process.kill()
            raise RuntimeError(f"swapcam studio did not start: {line!r} {self.process.stderr.read()[-2000:]}")
        self.url = line.split("open ", 1)[1].strip()
        self.base, self.token = self.url.split("/?token=")
        self.wait_for_frames(1)

    def request(
        self, path: str, body: Any = None, token: str | None = "header", raw: bytes | None = None
    ) -> tuple[int, bytes, Any]:
        """(status, body, headers (case-insensitive)); ``token``: "header", "query", None (none) or a wrong token."""
        url = self.base + path
        headers = {"Content-Type": "application/json"}
        if token == "header":
            headers[TOKEN_HEADER] = self.token
        elif token == "query":
            url += ("&" if "?" in url else "?") + f"token={self.token}"
        elif token is not None:
            headers[TOKEN_HEADER] = token
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.headers

    def get(self, path: str) -> Any:
        status, body, _ = self.request(path)
        assert status == 200, body
        return json.loads(body)

    def post(self, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        status, data, _ = self.request(path, body if body is not None else {})
        return status, json.loads(data)

    def frame(self, view: str = "side") -> tuple[int, np.ndarray]:
        """The newest output frame at full size, lossless (PNG): (frame index, BGR image)."""
        status, body, headers = self.request(f"/api/frame.png?view={view}")
        assert status == 200, body
        return int(headers["X-Frame-Index"]), cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)

    def frame_after(self, index: int, view: str = "side") -> np.ndarray:
        """The first output frame fetched whose index is past ``index``."""
        for _ in range(400):
            current, image = self.frame(view)
            if current > index:
                return image
            time.sleep(0.05)
        raise TimeoutError(f"no frame after {index}")

    def wait_for_frames(self, count: int, after_run: int = 0, timeout: float = 120) -> dict[str, Any]:
        """Stats once a run later than ``after_run`` has output ``count`` frames."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                stats = self.get("/api/stats")
                status = stats["status"]
                if stats["frames"] >= count and status["state"] == "streaming" and status["run"] > after_run:
                    return stats
            except (urllib.error.URLError, ConnectionError, AssertionError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"swapcam studio did not stream {count} frames")

    def reset(self) -> None:
        status, body = self.post("/api/reset")
        assert status == 200, body

    def close(self) -> tuple[int, str]:
        """Stop it as Ctrl-C does; its exit code and stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            _, stderr = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
        return self.process.returncode, stderr
