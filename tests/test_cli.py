"""The command line as a user meets it: one-line errors, non-zero exits, no tracebacks."""

import json
import subprocess
import sys

import pytest


def swapcam(*args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["live", "--coverage", "abc"], "invalid float value"),
        (["live", "--coverage", "9"], "out of range"),
        (["live", "--color", "sepia"], "invalid choice"),
        (["live", "--input", "file:/no/such.mp4", "--output", "null"], "does not exist"),
        (["live", "--input", "camera:7", "--output", "null"], "no camera at index 7"),
        (["live", "--input", "synthetic", "--model", "/no/model.onnx", "--output", "null"], "does not exist"),
        (["live", "--input", "synthetic", "--output", "zoom"], "is not valid"),
        (["fly"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, message):
    result = swapcam(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]


def test_non_onnx_model_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_text("this is not a model")
    result = swapcam("live", "--input", "synthetic", "--model", str(fake), "--output", "null")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "not a readable ONNX model" in result.stderr


def test_live_synthetic_to_file_with_report(tmp_path, inverting_model_path):
    report = tmp_path / "r.json"
    result = swapcam(
        "live",
        "--input",
        "synthetic:size=320x240,fps=30",
        "--model",
        str(inverting_model_path),
        "--output",
        f"file:{tmp_path / 'o.mp4'}",
        "--output",
        "null",
        "--max-frames",
        "30",
        "--report",
        str(report),
        "--pace",
        "every",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["frames"] == 30 and data["frames_swapped"] >= 25
    assert set(data["latency_ms"]) == {"p50", "p95", "p99"}
    assert 50 < data["peak_rss_mb"] < 4000  # mediapipe + onnxruntime + numba, not a parent's memory
    assert (tmp_path / "o.mp4").stat().st_size > 0
    recording = data["outputs"][f"file:{tmp_path / 'o.mp4'}"]
    assert recording["written"] == 30 and recording["dropped"] == recording["errors"] == 0  # every-frame: none lost
    assert data["outputs"]["null"]["errors"] == 0 and data["output"] == [f"file:{tmp_path / 'o.mp4'}", "null"]
    assert sum(data["latency_histogram"]["counts"]) == 30


def test_the_libraries_stay_quiet_unless_verbose(inverting_model_path):
    args = ["live", "--input", "synthetic:size=320x240", "--model", str(inverting_model_path)]
    args += ["--output", "null", "--max-frames", "30"]
    quiet, verbose = swapcam(*args), swapcam(*args, "--verbose")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr
    lines = quiet.stderr.splitlines()
    assert lines and all(line.startswith("swapcam:") for line in lines), lines
    # mediapipe's absl and TensorFlow Lite lines are there when asked for (the filter hid them)
    assert any(not line.startswith("swapcam:") for line in verbose.stderr.splitlines())
    assert any(not line.startswith("swapcam:") for line in swapcam("--verbose", *args).stderr.splitlines())


def test_noise_is_told_from_errors():
    from swapcam.realtime.quiet import is_noise

    assert is_noise("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.")
    assert is_noise("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
    assert is_noise(
        "W0000 00:00:1796195451.265513   18453 inference_feedback_manager.cc:114] Feedback manager requires a model"
    )
    assert is_noise("I0000 00:00:1796195451.2 7 gl_context.cc:357] GL version: 3.2")
    assert is_noise("[ WARN:0@0.012] global cap_v4l.cpp:999 open VIDEOIO(V4L2:/dev/video7): can't open camera")
    assert not is_noise("E0000 00:00:1796195451.2 7 calculator_graph.cc:887] INVALID_ARGUMENT: the graph failed")
    assert not is_noise("swapcam: error: no camera at index 7")
    assert not is_noise("Traceback (most recent call last):")
