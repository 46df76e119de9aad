"""The shipped demo model and ``swapcam demo``: what a newcomer runs first."""

import dataclasses
import json
import subprocess
import sys

import cv2
import numpy as np

from benchmarks.quality_metrics import hull_mask
from swapcam.realtime.run.demo import DEMO_INPUT, DEMO_MODEL
from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
from swapcam.realtime.stages.contract import ModelCard
from swapcam.realtime.stages.swap import Swapper, SwapSettings


def test_shipped_demo_model_follows_the_contract_and_its_card_is_complete():
    swapper = Swapper(DEMO_MODEL, SwapSettings(provider="cpu"))
    card = swapper.card
    assert not card.foreign
    empty = [
        f.name
        for f in dataclasses.fields(ModelCard)
        if f.name != "foreign" and getattr(card, f.name) in ("", (), {}, None, "unknown")
    ]
    assert empty == [] and card.identities[0] == "bo" and "ada" in card.identities
    assert card.iterations > 0 and card.coverage > 1
    assert "synthetic" in card.consent.lower() and card.resolution == swapper.resolution
    assert DEMO_MODEL.stat().st_size < 12 * 2**20  # small enough to live in the repository


def test_demo_writes_side_by_side_video_and_report(tmp_path):
    video, report, config = tmp_path / "demo.mp4", tmp_path / "demo.json", tmp_path / "demo.toml"
    config.write_text("[color]\nsmoothing = 0.4\n[pipeline]\nqueue_depth = 2\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "swapcam.realtime.cli",
            "demo",
            "--seconds",
            "3",
            "--video",
            str(video),
            "--output",
            "null",
            "--report",
            str(report),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "fps" in result.stderr and "wrote" in result.stderr
    table = [line.split()[2:] for line in result.stderr.splitlines() if line.startswith("swapcam demo: ")]
    assert ["stage", "p50", "ms", "p95", "ms"] in table
    assert {row[0] for row in table} >= {"detect", "align", "swap", "blend"}
    data = json.loads(report.read_text())
    # the demo sets its own length and colour mode, and keeps the rest of the config file's sections
    assert data["settings"]["color"] == {"mode": "rct", "smoothing": 0.4}
    assert data["settings"]["pipeline"]["queue_depth"] == 2 and data["settings"]["pipeline"]["seconds"] == 3.0
    assert data["frames"] >= 60 and data["frames_swapped"] >= 0.9 * data["frames"]
    capture = cv2.VideoCapture(str(video))
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (1280, 360)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == data["frames"]
    capture.set(cv2.CAP_PROP_POS_FRAMES, data["frames"] // 2)
    panel = capture.read()[1].astype(int)
    left, right = panel[:, :640], panel[:, 640:]
    # the swapped half is the original away from the face (rows 180-320 of the left edge: below the
    # stage-timing overlay, above the disclosure label)
    assert np.abs(left[180:320, :150] - right[180:320, :150]).mean() < 4
    # ... and inside the face outline it is another face (recoloured to ada's skin by rct: the
    # features, not the tone, differ). The synthetic camera's own landmarks say where the face is;
    # the demo runs at camera pace, so a dropped frame can shift them a little.
    video = SyntheticVideo(SyntheticSettings.from_spec(DEMO_INPUT.partition(":")[2]))
    changes = []
    for index in range(0, data["frames"], 10):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        panel = capture.read()[1].astype(int)
        inside = hull_mask(video.frame(index).landmarks, (360, 640))
        changes.append(np.abs(panel[:, :640] - panel[:, 640:])[inside].mean())
    assert np.median(changes) > 8


def test_stage_table_lists_each_stage_with_its_percentiles():
    from swapcam.realtime.run.report import stage_table

    rows = stage_table({"stages_ms": {"detect": {"p50": 3.25, "p95": 4.5}, "swap": {"p50": 12.0, "p95": 15.25}}})
    assert rows == ["stage    p50 ms   p95 ms", "detect     3.25     4.50", "swap      12.00    15.25"]
    assert stage_table({"stages_ms": {}}) == []


def test_demo_refuses_unwritable_outputs_before_it_starts(tmp_path):
    for args in (
        ["--video", str(tmp_path / "no" / "d.mp4")],
        ["--video", str(tmp_path / "d.mp4"), "--report", str(tmp_path / "no" / "r.json")],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "swapcam.realtime.cli", "demo", "--seconds", "60", "--output", "null", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and "folder" in result.stderr and "does not exist" in result.stderr
        assert "Traceback" not in result.stderr and "swapcam: synthetic" not in result.stderr  # never started
    assert not (tmp_path / "d.mp4").exists()
