"""Bad input, per registry entry: every part a user names on the command line (an input kind, an
output kind, a detector, an export precision) declares a command line that gets it wrong and the
one line that must answer it (``bad_input=`` when it registers, see core.registry.BadInput). Each
runs here through the real command line: exit code 2, one line ``swapcam: error: …`` on stderr and
nothing else, nothing written. So do config files of the earlier layout (keys that moved), and a
missing camera in a fresh process, where OpenCV would log its own error beside swapcam's.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from swapcam.export.onnx_export import PRECISION_CONVERTERS
from swapcam.export.settings import EXPORT_PRECISIONS
from swapcam.realtime.cli import main
from swapcam.realtime.core.registry import BadInput, Registry
from swapcam.realtime.core.settings import Settings, from_sources
from swapcam.realtime.run.config import LIVE_SETTINGS
from swapcam.realtime.sinks.kinds import SINKS
from swapcam.realtime.sources.capture import SOURCES
from swapcam.realtime.stages.detect import DETECTORS

#: each registry whose parts the command line names, and the subcommand its bad inputs are given to
REGISTRIES: dict[str, tuple[Registry, str]] = {
    "input": (SOURCES, "live"),
    "output": (SINKS, "live"),
    "detector": (DETECTORS, "live"),
    "precision": (PRECISION_CONVERTERS, "export"),
}

CASES = [
    pytest.param(label, name, registry.bad_inputs[name], id=f"{label}-{name}")
    for label, (registry, _) in REGISTRIES.items()
    for name in registry
    if name in registry.bad_inputs  # the ones without a case fail test_every_registered_part_has_a_bad_input
]


def run(argv: list[str], capfd) -> tuple[int | str | None, str]:
    """``swapcam ARGV…`` in this process: its exit code and what reached file descriptor 2 (the
    libraries' own lines included, which capsys would not see).

    A live run refused at its input may leave its detector and hand tracker to the garbage collector
    (as of writing, run_live opens the source outside the try that closes them), and mediapipe logs
    as they close: in a process of its own that never happens, here it would land in another case's
    stderr, or in this one's after the quiet filter is gone. So they are collected before the run,
    and none during it."""
    gc.collect()
    capfd.readouterr()
    gc.disable()
    try:
        code: int | str | None
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse's errors
            code = exit.code
        return code, capfd.readouterr().err
    finally:
        gc.enable()


def assert_one_line_error(code: int | str | None, stderr: str, message: str) -> None:
    lines = stderr.splitlines()
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("swapcam: error: "), stderr
    assert message in lines[0], stderr


@pytest.fixture()
def scratch(tmp_path, monkeypatch) -> Path:
    """An empty folder, also the working directory: a refused command line must leave it empty."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny run folder with a checkpoint, made by swapcam extract and swapcam train."""
    root = tmp_path_factory.mktemp("run")
    for name in ("ada", "bo"):
        extract = ["extract", "--input", f"synthetic:identity={name},size=320x240", "--out", str(root / name)]
        assert main([*extract, "--resolution", "64", "--count", "4", "--dedupe", "0", "--no-progress"]) == 0
    train = ["train", "--source", str(root / "ada"), "--target", str(root / "bo"), "--out", str(root / "run")]
    small = ["--preset", "tiny", "--base", "none", "--iterations", "1", "--batch-size", "2", "--warmup", "1"]
    assert main([*train, *small, "--workers", "0", "--no-progress"]) == 0
    return root / "run"


def command_line(subcommand: str, args: list[str], model: Path, checkpoint: Path | None) -> list[str]:
    """The whole command line around a part's bad arguments: a live run gets a model, one frame at
    most (should it run after all), and a synthetic input or a null output unless the case names
    its own; an export gets the run folder."""
    if subcommand == "export":
        assert checkpoint is not None
        return ["export", str(checkpoint), *args]
    given = ["--model", str(model), "--max-frames", "1"]
    if "--input" not in args:
        given += ["--input", "synthetic:size=320x240"]
    if "--output" not in args:
        given += ["--output", "null"]
    return ["live", *given, *args]


@pytest.mark.parametrize("label,name,bad", CASES)
def test_each_part_refuses_its_bad_input_in_one_line(label, name, bad, scratch, inverting_model_path, capfd, request):
    subcommand = REGISTRIES[label][1]
    checkpoint = request.getfixturevalue("checkpoint") if subcommand == "export" else None
    args = [arg.format(tmp=scratch) for arg in bad.args]
    code, stderr = run(command_line(subcommand, args, inverting_model_path, checkpoint), capfd)
    assert_one_line_error(code, stderr, bad.message.format(tmp=scratch))
    assert list(scratch.iterdir()) == []


def test_every_registered_part_has_a_bad_input():
    missing = {
        label: [name for name in registry if name not in registry.bad_inputs]
        for label, (registry, _) in REGISTRIES.items()
    }
    assert missing == {label: [] for label in REGISTRIES}, "declare a BadInput where the part registers"
    assert all(isinstance(bad, BadInput) and bad.args and bad.message for _, _, bad in (c.values for c in CASES))
    # precisions are declared in export.settings and converted in onnx_export: the same names
    assert set(EXPORT_PRECISIONS) == set(PRECISION_CONVERTERS)


def _settings_classes() -> dict[str, type[Settings]]:
    import swapcam.export.extract  # noqa: F401 — the settings classes outside the live run
    import swapcam.export.settings  # noqa: F401
    import swapcam.realtime.run.config  # noqa: F401

    found: dict[str, type[Settings]] = {}
    todo = list(Settings.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.section and cls.__module__.startswith("swapcam."):  # not the tests' own
            found[cls.section] = cls
    return found


# every key that left a live run's section, as "old_section.key", "new_section.key"
MOVED_CASES = [
    pytest.param(f"{cls.section}.{key}", f"{section}.{key}", id=f"{cls.section}.{key}")
    for cls in LIVE_SETTINGS
    for key, section in cls.moved.items()
]


@pytest.mark.parametrize("old,new", MOVED_CASES)
def test_a_moved_config_key_says_where_it_lives_now(old, new, tmp_path, scratch, inverting_model_path, capfd):
    (old_section, old_key), (new_section, new_key) = old.split("."), new.split(".")
    owner = _settings_classes()[new_section]
    default = {f.name: f.default for f in dataclasses.fields(owner)}[new_key]  # type: ignore[arg-type]
    config = tmp_path / "earlier.toml"
    config.write_text(f"[{old_section}]\n{old_key} = {json.dumps(default)}\n")
    code, stderr = run(command_line("live", ["--config", str(config)], inverting_model_path, None), capfd)
    message = (
        f"config section [{old_section}] has key {old_key!r}, which moved to [{new_section}] {new_key}: move it there"
    )
    assert_one_line_error(code, stderr, message)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("old,new", MOVED_CASES)
def test_moved_keys_live_in_their_new_section_only(old, new):
    classes = _settings_classes()
    (old_section, old_key), (new_section, new_key) = old.split("."), new.split(".")
    assert new_key in {f.name for f in dataclasses.fields(classes[new_section])}  # type: ignore[arg-type]
    if old_section in classes:
        assert old_key not in {f.name for f in dataclasses.fields(classes[old_section])}  # type: ignore[arg-type]
    # a config file of today's layout loads as it is
    owner = classes[new_section]
    value = {f.name: f.default for f in dataclasses.fields(owner)}[new_key]  # type: ignore[arg-type]
    assert getattr(from_sources(owner, config={new_section: {new_key: value}}), new_key) == value


def test_a_missing_camera_is_one_line_in_a_fresh_process(tmp_path, inverting_model_path):
    """OpenCV logs "[ERROR:…] Camera index out of range" itself when no camera is there; swapcam's
    line says so already, and only swapcam's shows (OpenCV's does with --verbose)."""
    bad = SOURCES.bad_inputs["camera"]
    argv = command_line("live", list(bad.args), inverting_model_path, None)
    result = subprocess.run(
        [sys.executable, "-m", "swapcam.realtime.cli", *argv], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert_one_line_error(result.returncode, result.stderr, bad.message)
    assert list(tmp_path.iterdir()) == []
