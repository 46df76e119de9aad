"""CI runs the benchmark suite in --quick mode only to check it runs and writes valid results."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmarks_write_json_markdown_and_chart(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path), "--live-args", "--no-spin --threads 2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["machine"]["cores"] >= 1 and data["quick"] is True
    kernels = data["kernels"]
    assert kernels["crop_128"]["numba_ms"] > 0 and kernels["paste_128"]["speedup"] > 0
    assert set(kernels["color_128_ms"]) == {"rct", "lct", "mkl", "sot", "none"}
    tiny = data["model"]["tiny"]  # the test extras include torch, so the presets are timed
    assert tiny["resolution"] == 64 and 0.1 < tiny["gflops"] < 2
    assert all(tiny[p]["cpu_1t"] > 0 and tiny[p]["cpu_2t"] > 0 for p in ("fp32", "fp16", "int8"))
    synthetic = data["pipeline"]["synthetic_720p"]
    assert synthetic["frames"] > 0 and synthetic["width"] == 1280 and synthetic["peak_rss_mb"] > 0
    assert synthetic["model"] == "live.onnx" and len(synthetic["runs"]) == 1
    assert synthetic["settings"]["swap"]["spin"] is False and synthetic["settings"]["swap"]["threads"] == 2
    assert data["pipeline"]["startup"]["warm_s"] > 0
    markdown = (tmp_path / "results.md").read_text()
    assert "## kernels" in markdown and "| tiny | 64 |" in markdown and "`swapcam live --no-spin" in markdown
    assert (tmp_path / "stages.png").stat().st_size > 1000
    quality = data["quality"]["cases"]
    assert set(quality) == {"synthetic bo self", "synthetic ada→bo", "synthetic bo + hand"}  # no real media in quick
    self_swap = quality["synthetic bo self"]
    assert self_swap["frames"] == 30 and 15 < self_swap["psnr_db"] < 60 and 0 < self_swap["ssim"] <= 1
    assert 0 <= self_swap["landmark_error"] < 0.2 and self_swap["seam_delta_e"] >= 0
    assert "psnr_db" not in quality["synthetic ada→bo"]  # fidelity only where the output should equal the input
    assert ("identity_share" in quality["synthetic ada→bo"]) == data["quality"]["identity"]
    assert "| synthetic bo self |" in markdown and (tmp_path / "quality_sheet.png").stat().st_size > 10_000
    marks = data["provenance"]
    assert marks["attacks"]["none"]["windows"] == 2 and marks["attacks"]["none"]["detected"] == 1.0
    assert marks["attacks"]["none"]["false_positives"] == 0 and marks["psnr_db"]["min"] >= 42
    assert (
        "| half: 0.5× downscale (area) | 2 |" in markdown and (tmp_path / "watermark_diff.png").stat().st_size > 10_000
    )


def test_unknown_section_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "gpu"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "unknown section gpu" in result.stderr


def test_median_report_takes_each_number_from_the_middle_run():
    from benchmarks.pipeline import median_report

    runs = [
        {"fps": 30.0, "latency_ms": {"p95": 40.0}, "model": "a", "device": None},
        {"fps": 28.0, "latency_ms": {"p95": 90.0}, "model": "a", "device": None},
        {"fps": 29.0, "latency_ms": {"p95": 45.0}, "model": "a", "device": None},
    ]
    assert median_report(runs) == {"fps": 29.0, "latency_ms": {"p95": 45.0}, "model": "a", "device": None}


def test_training_curves_put_runs_on_a_minutes_axis(tmp_path):
    from benchmarks.training_curves import main, read_curve

    run = tmp_path / "run"
    run.mkdir()
    (run / "holdout.csv").write_text("iteration,seconds,psnr_db\n200,999.0,20.5\n400,1999.0,21.25\n")
    curve = read_curve(run, "fast", 2.0)  # 2 it/s: iteration 400 is minute 3.33, whatever the wall clock said
    assert curve.minutes == pytest.approx([200 / 120, 400 / 120]) and curve.psnr_db == [20.5, 21.25]
    out = tmp_path / "curves.png"
    assert main([str(out), f"{run}=fast@2.0", f"{run}=slow@1.0"]) == 0
    assert out.stat().st_size > 10_000


def test_the_soak_verdict_catches_creeping_memory_drifting_latency_and_leaks():
    from benchmarks.soak import verdict

    def minutes(rss, p95, faults=(0, 0, 0, 0, 0), threads=(13,) * 5, files=(9,) * 5):
        return [
            {"rss_mb": r, "p95_ms": p, "faults": f, "threads": t, "open_files": o}
            for r, p, f, t, o in zip(rss, p95, faults, threads, files, strict=True)
        ]

    # the first minute holds the start-up: its p95 and RSS are no baseline for drift, only for growth
    steady = verdict(minutes(rss=(500, 510, 512, 515, 520), p95=(90, 30, 31, 30, 32)))
    assert all(check["met"] for check in steady.values())
    assert steady["rss_growth"]["value"] == 0.04 and steady["p95_drift"]["value"] == round(31 / 30.5 - 1, 4)
    worse = verdict(
        minutes(
            rss=(500, 510, 520, 530, 540),
            p95=(20, 30, 31, 36, 37),
            faults=(0, 0, 1, 0, 0),
            threads=(13, 13, 14, 13, 13),
            files=(9, 9, 9, 9, 10),
        )
    )
    assert {name for name, check in worse.items() if not check["met"]} == {
        "rss_growth",
        "p95_drift",
        "faults",
        "thread_growth",
        "open_file_growth",
    }


def test_the_soak_sampler_closes_a_minute_with_the_process_measures():
    from types import SimpleNamespace

    from benchmarks.soak import MinuteSampler

    sampler = MinuteSampler(minute_s=1e-6)  # each frame after the first ends a "minute"
    now = time.perf_counter()
    for fault, faces in ((None, 1), ("nan_output", 0), (None, 0)):
        sampler(SimpleNamespace(frame=SimpleNamespace(timestamp=now - 0.02), fault=fault, faces_swapped=faces))
    first, second = sampler.minutes
    assert (first["minute"], first["frames"], second["minute"], second["frames"]) == (1, 2, 2, 1)
    assert first["faults"] == 1 and first["fault_kinds"] == {"nan_output": 1} and first["no_face"] == 0
    assert second["faults"] == 0 and second["no_face"] == 1 and second["p95_ms"] >= 20
    assert first["rss_mb"] > 10 and first["threads"] >= 1 and first["open_files"] >= 3
