"""The control panel as data: one control per settings field, generated from the declarations.

Pure functions: :func:`panel_schema` (what the page draws), :func:`apply_changes` (a checked new
config from the page's values), :func:`preset_toml` (settings as a ``--config`` file). Nothing here
lists a setting by name: a field added to a settings class appears on the page with its range, choices
and help, and in presets.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any, get_type_hints

from ..core.errors import UserError
from ..core.settings import Settings, flag_name, from_sources, scalar_type, to_dict
from ..run.config import APPLIES, LIVE_SETTINGS, LiveConfig, config_from
from ..stages.base import RESTARTS

# how finely a slider moves over its range
SLIDER_STEPS = 200


def _control(cls: type[Settings], f: dataclasses.Field) -> dict[str, Any]:
    hint = get_type_hints(cls)[f.name]
    kind = scalar_type(hint)
    low, high, choices = f.metadata.get("low"), f.metadata.get("high"), f.metadata.get("choices")
    if kind is bool:
        widget = "switch"
    elif choices:
        widget = "select"
    elif kind in (int, float) and low is not None and high is not None:
        widget = "slider"
    elif kind in (int, float):
        widget = "number"
    else:
        widget = "text"
    step: float | str = "any"
    if kind is int:
        step = 1
    elif widget == "slider" and low is not None and high is not None:
        step = (high - low) / SLIDER_STEPS
    return {
        "name": f.name,
        "flag": flag_name(f),
        "type": kind.__name__,
        "widget": widget,
        "optional": f.default is None,  # None means "decided elsewhere" (the model card, the driver)
        "default": f.default,
        "low": low,
        "high": high,
        "step": step,
        "choices": list(choices) if choices else None,
        "help": f.metadata["help"],
    }


def panel_schema(classes: Iterable[type[Settings]] = LIVE_SETTINGS) -> list[dict]:
    """One group per settings section, in the order of ``swapcam live --help``; ``applies`` says
    whether a change shows from the next frame or starts the stream anew (a new input or output).
    A section no stage declares (a test's own) restarts the stream."""
    return [
        {
            "section": cls.section,
            "applies": APPLIES.get(cls.section, RESTARTS),
            "controls": [_control(cls, f) for f in dataclasses.fields(cls)],  # type: ignore[arg-type]
        }
        for cls in classes
    ]


def config_values(config: LiveConfig) -> dict[str, dict[str, Any]]:
    return {section: to_dict(settings) for section, settings in config.sections()}


def apply_changes(config: LiveConfig, changes: Mapping[str, Any]) -> LiveConfig:
    """``config`` with ``changes`` ({section: {field: value}}) applied, every value checked as a
    flag or config file is (UserError naming the setting and its allowed values)."""
    if not isinstance(changes, Mapping) or not changes:
        raise UserError('settings change must be {"section": {"name": value}}: send at least one setting')
    sections = {}
    for section, values in changes.items():
        if section not in config.names():
            raise UserError(f"unknown settings section {section!r}: choose one of {', '.join(config.names())}")
        if not isinstance(values, Mapping):
            raise UserError(f"settings of [{section}] must be an object of name: value")
        current = getattr(config, section)
        merged = {**to_dict(current), **values}
        sections[section] = from_sources(type(current), None, {section: merged})
    return config.replace(**sections)


def config_from_toml(data: Mapping[str, Any]) -> LiveConfig:
    """The LiveConfig of a parsed ``--config`` file (defaults for what it leaves out)."""
    names = LiveConfig().names()
    unknown = set(data) - set(names)
    if unknown:
        raise UserError(f"preset has unknown section [{sorted(unknown)[0]}]: sections are {', '.join(names)}")
    return config_from(None, data)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # a JSON string is a valid TOML basic string: the same quotes and backslash escapes
    return json.dumps(str(value), ensure_ascii=False)


def preset_toml(config: LiveConfig, title: str = "") -> str:
    """``config`` as a TOML file that ``--config`` reads back to the same settings. Settings left to
    the model or the driver (None) are left out, so they stay so."""
    lines = [f"# {title}"] if title else []
    for section, values in config_values(config).items():
        lines += ["", f"[{section}]"]
        lines += [f"{name} = {_toml_value(value)}" for name, value in values.items() if value is not None]
    return "\n".join(lines).lstrip("\n") + "\n"
