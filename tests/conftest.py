"""Shared fixtures: small contract-following models built in code, and the real media folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from swapcam.export.extract import ExtractSettings, extract
from swapcam.realtime.stages.contract import ModelCard
from swapcam.realtime.stages.testmodel import build_inverting_model

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the ``media`` fixture (directly or through another fixture) as
    ``media``, so ``-m "not media"`` leaves out the checks that need ../shared/media."""
    for item in items:
        if "media" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.media)


@pytest.fixture(scope="session")
def inverting_model_path(tmp_path_factory) -> Path:
    """A 64 px inverting model with a swapcam card, saved as .onnx."""
    path = tmp_path_factory.mktemp("models") / "invert64.onnx"
    card = ModelCard(resolution=64, coverage=2.2, preset="test", architecture="invert", identities=("inverse",))
    onnx.save(build_inverting_model(64, card=card), str(path))
    return path


@pytest.fixture(scope="session")
def media() -> Path:
    """../shared/media with the real clips; tests using it skip when it is absent."""
    if not (MEDIA / "liveportrait-driving").is_dir():
        pytest.skip("../shared/media is not here (real-media checks run only on developer machines)")
    return MEDIA


@pytest.fixture(scope="session")
def facesets(tmp_path_factory) -> dict[str, Path]:
    """Two synthetic identities, 24 faces each, 128 px crops."""
    root = tmp_path_factory.mktemp("facesets")
    settings = ExtractSettings(resolution=128, count=24, dedupe=0.0)
    paths = {}
    for name in ("ada", "bo"):
        paths[name] = root / name
        extract([f"synthetic:identity={name},size=640x360"], paths[name], settings, progress=False)
    return paths


@pytest.fixture(scope="session")
def aligned_face():
    """(468, 2) landmarks of a frontal synthetic face with an open mouth, in a 128 px aligned crop."""
    from swapcam.realtime.sources.synthetic import SyntheticSettings, SyntheticVideo
    from swapcam.realtime.stages.align import align_matrix, transform_points

    frame = SyntheticVideo(SyntheticSettings(identity="ada", size="320x240", motion=0.0)).render(
        (0.0, 0.0, 0.0), {"mouth_open": 1.0}
    )
    return transform_points(align_matrix(frame.landmarks, 128, 2.2), frame.landmarks)


def run_swapcam(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``swapcam ARGS…`` in a fresh interpreter, as a user runs it: exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def swapcam_cli():
    """:func:`run_swapcam`, for tests that run the command line."""
    return run_swapcam


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory, inverting_model_path):
    """A real ``swapcam studio`` (a still synthetic 320×240 input, the inverting model) for the whole session;
    see tests/studio_server.py. Skips where the studio extra is not installed."""
    pytest.importorskip("starlette", reason="the studio extra is not installed: pip install -e '.[studio]'")
    from studio_server import StudioServer

    server = StudioServer(tmp_path_factory.mktemp("studio"), inverting_model_path)
    yield server
    server.close()


@pytest.fixture()
def studio(studio_server):
    """The studio server with its settings back at the start values and streaming."""
    studio_server.reset()
    studio_server.wait_for_frames(1)
    return studio_server
