import argparse

import pytest

from swapcam.realtime.core.errors import UserError
from swapcam.realtime.core.settings import add_arguments, from_sources, load_config
from swapcam.realtime.stages.mask import MaskSettings


def parse(cls, argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser, cls)
    return parser.parse_args(argv)


def test_defaults_config_and_flags_layer_in_that_order(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[mask]\nopacity = 0.5\nblur = 0.1\n")
    settings = from_sources(MaskSettings, parse(MaskSettings, ["--mask-blur", "0.2"]), load_config(config))
    assert settings.opacity == 0.5  # from the file
    assert settings.blur == 0.2  # flag beats file
    assert settings.erode == MaskSettings().erode  # default


def test_boolean_flags_and_int_to_float():
    settings = from_sources(MaskSettings, parse(MaskSettings, ["--no-hull"]), {"mask": {"opacity": 1}})
    assert settings.hull is False and settings.opacity == 1.0 and isinstance(settings.opacity, float)


@pytest.mark.parametrize(
    "config,message",
    [
        ({"mask": {"opacity": 2.0}}, "--opacity 2.0 is out of range"),
        ({"mask": {"opacity": "high"}}, "--opacity must be float"),
        ({"mask": {"model_mask": "eyes"}}, "choose one of both, face, celeb, none"),
        ({"mask": {"opacty": 1.0}}, "unknown key 'opacty'"),
    ],
)
def test_bad_values_name_the_setting_and_the_fix(config, message):
    with pytest.raises(UserError, match=message):
        from_sources(MaskSettings, None, config)


def test_config_file_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mask\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config(bad)
