"""The machine description every result is recorded with."""

from __future__ import annotations

import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

#: what a section's run() returns and results.json holds: nested dicts of numbers and strings
Results = dict[str, Any]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    versions = {}
    for package in (
        "swapcam",
        "numpy",
        "numba",
        "opencv-contrib-python",
        "onnxruntime-gpu",
        "onnxruntime",
        "mediapipe",
        "torch",
    ):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }
