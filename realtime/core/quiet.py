"""Quiet by default: the libraries' start-up chatter stays off the terminal unless ``--verbose``.

mediapipe (absl's C++ log, TensorFlow Lite) writes a dozen INFO and WARNING lines to the process's
stderr on every run, and nothing turns them off: absl drops nothing before ``absl::InitializeLog()``,
which mediapipe's Python wheel never calls, and GLOG_minloglevel / TF_CPP_MIN_LOG_LEVEL are not read
by it (measured: the same 9 lines with them set). So file descriptor 2 goes through a pipe that a
small thread reads, forwarding every line except the libraries' informational ones (pure core:
:func:`is_noise`). Their errors still show. Python's own ``sys.stderr`` (swapcam's messages,
tracebacks, progress bars) bypasses the filter: it writes to the original stderr directly.

OpenCV and Python-side absl logging have levels of their own, set for the duration as well, and
restored afterwards; onnxruntime sessions are opened at log level 3 already (swap.ort_session).
Where swapcam itself says why a call failed (opening a camera that is not there), :func:`opencv_silenced`
hides OpenCV's error lines about it too, so the user reads one line, swapcam's.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from typing import Any

# absl/glog lines at INFO or WARNING level ("W0000 00:00:1796.123 18453 file.cc:114] …"), TensorFlow
# Lite's "INFO: Created TensorFlow Lite XNNPACK delegate", absl's notice that it logs to stderr,
# OpenCV's "[ WARN:0@0.1] …" / "[ INFO:…", onnxruntime's "[W:onnxruntime:…"
NOISE = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]"
    r"|INFO: "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|\[ ?(?:WARN|INFO):"
    r"|\[[IWV]:onnxruntime:)"
)


#: cv2.setLogLevel's levels
OPENCV_SILENT, OPENCV_ERROR = 0, 2


def is_noise(line: str) -> bool:
    """Whether a line a library wrote to stderr is informational chatter (errors never are)."""
    return NOISE.match(line) is not None


class StderrFilter:
    """fd 2 → pipe → thread → the original stderr, less the noise; ``close`` restores fd 2."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._original = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._saved_stderr = sys.stderr
        # Python writes straight to the original stderr, in order and unfiltered
        sys.stderr = open(
            self._original,
            "w",
            buffering=1,
            encoding=self._saved_stderr.encoding,
            errors="backslashreplace",
            closefd=False,
        )
        self._thread = threading.Thread(target=self._forward, args=(read,), name="stderr filter", daemon=True)
        self._thread.start()

    def _forward(self, read: int) -> None:
        pending = b""
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                kept = [line for line in lines if not is_noise(line.decode("utf-8", "replace"))]
                if kept:
                    os.write(self._original, b"".join(line + b"\n" for line in kept))
            if pending and not is_noise(pending.decode("utf-8", "replace")):
                os.write(self._original, pending)

    def close(self) -> None:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = self._saved_stderr
        os.dup2(self._original, 2)  # closes the pipe's write end: the thread reads to the end and stops
        # a child process still holding the pipe would keep it open: do not wait for it (and leave
        # the thread its file descriptor)
        self._thread.join(timeout=1.0)
        if not self._thread.is_alive():
            os.close(self._original)


@contextlib.contextmanager
def opencv_silenced() -> Iterator[None]:
    """OpenCV logs nothing inside the block, errors included, while the libraries are quiet (inside
    :func:`quiet_libraries`, so not under ``--verbose``). For a call whose failure swapcam reports in
    its own words: ``cv2.VideoCapture(9)`` with no camera there logs
    "[ERROR:…] … Camera index out of range" beside swapcam's "no camera at index 9"."""
    import cv2

    level = cv2.getLogLevel()
    if level > OPENCV_ERROR:  # not quietened (--verbose, or outside the command line): OpenCV says it too
        yield
        return
    cv2.setLogLevel(OPENCV_SILENT)
    try:
        yield
    finally:
        cv2.setLogLevel(level)


@contextlib.contextmanager
def quiet_libraries(enabled: bool = True) -> Iterator[None]:
    """Silence the libraries' informational logging inside the block (nothing when not ``enabled``)."""
    if not enabled:
        yield
        return
    import cv2

    cv2_level = cv2.getLogLevel()
    cv2.setLogLevel(OPENCV_ERROR)
    absl_logging: Any = None
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging  # mediapipe's dependency
    absl_level = absl_logging.get_verbosity() if absl_logging is not None else None
    if absl_logging is not None:
        absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        stderr: StderrFilter | None = StderrFilter()
    except OSError:  # no stderr to filter (closed by a service manager): nothing to hide either
        stderr = None
    try:
        yield
    finally:
        if stderr is not None:
            stderr.close()
        cv2.setLogLevel(cv2_level)
        if absl_logging is not None:
            absl_logging.set_verbosity(absl_level)
