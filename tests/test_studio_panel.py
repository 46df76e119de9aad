"""The studio's panel is generated from the settings declarations, checks values as flags do, and
saves presets that ``--config`` reads back; the page names files only inside the folders given."""

import dataclasses
import os

import pytest

from swapcam.realtime.cli import build_parser, live_config
from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.settings import Settings, setting
from swapcam.realtime.run.config import LIVE_SETTINGS, LiveConfig
from swapcam.realtime.sinks.base import OutputSettings
from swapcam.realtime.stages.color import ColorSettings
from swapcam.realtime.stages.mask import MaskSettings
from swapcam.realtime.studio.folders import Folders, inside
from swapcam.realtime.studio.panel import apply_changes, panel_schema, preset_toml


def test_every_setting_has_one_control_with_its_range_choices_and_help():
    groups = panel_schema()
    assert [g["section"] for g in groups] == [cls.section for cls in LIVE_SETTINGS]
    for cls, group in zip(LIVE_SETTINGS, groups, strict=True):
        fields = dataclasses.fields(cls)
        assert [c["name"] for c in group["controls"]] == [f.name for f in fields]
        for f, control in zip(fields, group["controls"], strict=True):
            assert (control["low"], control["high"], control["help"]) == (
                f.metadata["low"],
                f.metadata["high"],
                f.metadata["help"],
            )
            assert control["default"] == f.default
    opacity = next(
        c for c in groups[[g["section"] for g in groups].index("mask")]["controls"] if c["name"] == "opacity"
    )
    assert (opacity["widget"], opacity["low"], opacity["high"], opacity["flag"]) == ("slider", 0.0, 1.0, "--opacity")
    applies = {g["section"]: g["applies"] for g in groups}
    assert applies["mask"] == "next frame" and applies["capture"] == "restarts the stream"


def test_a_new_setting_brings_its_control():
    @dataclasses.dataclass(frozen=True)
    class GlowSettings(Settings):
        section = "glow"
        strength: float = setting(0.3, "how much the face glows", low=0.0, high=2.0)
        style: str = setting("soft", "glow style", choices=("soft", "hard"))

    (group,) = panel_schema([GlowSettings])
    assert [(c["name"], c["widget"]) for c in group["controls"]] == [("strength", "slider"), ("style", "select")]
    assert group["controls"][0]["step"] == pytest.approx(0.01)
    assert group["controls"][1]["choices"] == ["soft", "hard"]


def test_changes_are_checked_as_flags_are():
    config = apply_changes(LiveConfig(), {"mask": {"opacity": 0.25}, "color": {"mode": "lct"}})
    assert config.mask.opacity == 0.25 and config.color.mode == "lct" and config.mask.blur == MaskSettings().blur
    with pytest.raises(UserError, match=r"--opacity 2\.0 is out of range: use a value from 0\.0 to 1\.0"):
        apply_changes(LiveConfig(), {"mask": {"opacity": 2.0}})
    with pytest.raises(UserError, match="not valid: choose one of"):
        apply_changes(LiveConfig(), {"color": {"mode": "sepia"}})
    with pytest.raises(UserError, match="unknown key 'opacty'"):
        apply_changes(LiveConfig(), {"mask": {"opacty": 0.5}})
    with pytest.raises(UserError, match="unknown settings section 'glow'"):
        apply_changes(LiveConfig(), {"glow": {"strength": 1}})


def test_a_preset_is_a_config_file_live_reads_back(tmp_path):
    config = apply_changes(
        LiveConfig(),
        {"mask": {"opacity": 0.4, "blur": 0.125}, "color": {"mode": "mkl"}, "stabilize": {"smoothing": False}},
    )
    config = config.replace(output=OutputSettings(label='altered "live" \\ demo'))
    path = tmp_path / "preset.toml"
    path.write_text(preset_toml(config, "a test preset"))
    args = build_parser().parse_args(["live", "--config", str(path)])
    assert live_config(args) == config
    assert "coverage" not in path.read_text()  # None: left to the model card, so left out
    assert live_config(
        build_parser().parse_args(["live", "--config", str(path), "--color", "rct"])
    ).color == ColorSettings(mode="rct")


def test_the_page_names_files_only_inside_the_folders(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "me.onnx").write_bytes(b"x")
    (tmp_path / "secret.onnx").write_bytes(b"x")
    os.symlink(tmp_path / "secret.onnx", models / "link.onnx")
    folders = Folders(models, None, tmp_path / "rec", tmp_path / "presets")
    assert folders.model("me.onnx") == (models / "me.onnx").resolve()
    for name in ("../secret.onnx", str(tmp_path / "secret.onnx"), "link.onnx", "", "."):
        with pytest.raises(UserError, match="outside the models folder|not a file name"):
            folders.model(name)
    with pytest.raises(UserError, match="no media folder was given: start swapcam studio with --media DIR"):
        folders.media_file("clip.mp4")
    with pytest.raises(UserError, match="not allowed"):
        folders.new_file(tmp_path / "rec", "../x.mp4", ".mp4", "recordings")
    assert (
        folders.new_file(tmp_path / "rec", "take1", ".mp4", "recordings") == (tmp_path / "rec" / "take1.mp4").resolve()
    )
    assert inside(models, "me.onnx", "models").name == "me.onnx"
