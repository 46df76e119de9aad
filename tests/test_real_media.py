"""The product on real faces (../shared/media); skipped where that folder is absent."""

from swapcam.export.extract import ExtractSettings, extract
from swapcam.export.faceset import Faceset
from swapcam.realtime.run.config import LiveConfig
from swapcam.realtime.run.live import LiveRun, run_live
from swapcam.realtime.run.loop import PipelineSettings


def test_live_swaps_a_real_clip(media, inverting_model_path):
    clip = media / "liveportrait-driving" / "d9.mp4"
    report = run_live(
        LiveRun(
            input=f"file:{clip}",
            model=inverting_model_path,
            output="null",
            config=LiveConfig(pipeline=PipelineSettings(max_frames=90)),
        ),
        log=lambda line: None,
    )
    assert report["frames"] == 90 and report["frames_swapped"] >= 86


def test_extract_from_a_real_clip(media, tmp_path):
    clip = media / "liveportrait-driving" / "d3.mp4"
    summary = extract(
        [f"file:{clip}"], tmp_path / "fs", ExtractSettings(every=30, resolution=128, dedupe=0.0), progress=False
    )
    assert summary.faces_saved >= 11  # 354 frames, every 30th
    faceset = Faceset(tmp_path / "fs")
    assert all(abs(r.yaw) < 45 for r in faceset.records) and faceset.records[0].source == "d3.mp4"
