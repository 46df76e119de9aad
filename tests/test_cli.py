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
    from swapcam.realtime.core.quiet import is_noise

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


def test_latency_histogram_is_small_and_counts_every_frame():
    import numpy as np

    from swapcam.realtime.run.report import latency_histogram

    values = np.concatenate([np.random.default_rng(0).lognormal(3.0, 0.4, 100_000), [0.01, 5e6]])
    histogram = latency_histogram(values)
    edges, counts = histogram["edges_ms"], histogram["counts"]
    assert len(edges) == len(counts) + 1 <= 121 and sum(counts) == len(values)  # out-of-range ones too
    assert edges == sorted(edges) and edges[0] <= 0.1 and edges[-1] >= 9e4
    narrow = latency_histogram([20.0, 21.0, 30.0])
    assert len(narrow["counts"]) <= 5 and narrow["edges_ms"][0] <= 20.0 < 30.0 < narrow["edges_ms"][-1]
    assert latency_histogram([]) == {"edges_ms": [], "counts": []}


@pytest.fixture(scope="module")
def run_report(tmp_path_factory, inverting_model_path):
    path = tmp_path_factory.mktemp("report") / "run.json"
    result = swapcam(
        "live", "--input", "synthetic:size=320x240", "--model", str(inverting_model_path),
        "--output", "null", "--max-frames", "40", "--report", str(path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


def test_report_prints_the_summary_and_plots_latency_and_stages(run_report, tmp_path):
    import cv2

    plot = tmp_path / "latency.png"
    result = swapcam("report", str(run_report), "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    assert "swapcam report: frames 40" in result.stdout and "swapcam report: stage" in result.stdout
    image = cv2.imread(str(plot))
    assert image is not None and image.shape[1] > 1000 and image.shape[0] > 400
    assert image.std() > 20  # bars, lines and text, not a blank canvas


def test_report_errors_are_one_line(run_report, tmp_path):
    not_json = tmp_path / "x.json"
    not_json.write_text("{")
    old = tmp_path / "old.json"
    data = json.loads(run_report.read_text())
    del data["latency_histogram"]
    old.write_text(json.dumps(data))
    without_matplotlib = (
        "import sys; sys.modules['matplotlib'] = None; from swapcam.realtime.cli import main; "
        f"sys.exit(main(['report', {str(run_report)!r}, '--plot', {str(tmp_path / 'p.png')!r}]))"
    )
    for result, message in [
        (swapcam("report", str(tmp_path / "none.json")), "does not exist"),
        (swapcam("report", str(not_json)), "is not JSON"),
        (swapcam("report", str(old), "--plot", str(tmp_path / "p.png")), "no latency histogram"),
        (swapcam("report", str(run_report), "--plot", str(tmp_path / "no" / "p.png")), "does not exist"),
        (subprocess.run([sys.executable, "-c", without_matplotlib], capture_output=True, text=True), "pip install"),
    ]:
        errors = [line for line in result.stderr.splitlines() if "error:" in line]
        assert result.returncode == 2 and len(errors) == 1 and message in errors[0], result.stderr
        assert "Traceback" not in result.stderr
