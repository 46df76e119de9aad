"""Typed settings, declared once per component and shared by the CLI, config files and the live panel.

A component declares a frozen dataclass whose fields are made with :func:`setting`::

    @dataclass(frozen=True)
    class AlignSettings(Settings):
        section = "align"
        coverage: float = setting(2.2, "how much around the face the crop holds", low=1.0, high=4.0)

From that one declaration:

* :func:`add_arguments` adds ``--coverage`` (or the field's ``flag``) to an argparse parser;
* :func:`from_sources` builds the object from defaults < config file section ``[align]`` < flags;
* construction validates ranges and choices and raises :class:`UserError` naming the flag and the
  allowed values, so a bad value from any source gets the same one-line message.

A key that moves to another section stays named in its old section's ``moved`` (key → new section),
so a config file written for the earlier layout is told where the key lives now.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_type_hints

from .errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

S = TypeVar("S", bound="Settings")


def setting(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
) -> Any:
    """A settings field: default, help text, optional range/choices, optional CLI flag name."""
    meta = {"help": help, "low": low, "high": high, "choices": choices, "flag": flag}
    return dataclasses.field(default=default, metadata=meta)


class Settings:
    """Base for settings dataclasses: validates every field after construction."""

    section: ClassVar[str] = ""
    moved: ClassVar[Mapping[str, str]] = {}  # keys that left this section: key → the section it moved to

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            flag = flag_name(f)
            if value is None:
                continue
            kind = scalar_type(hints[f.name])
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise UserError(f"{flag} must be {kind.__name__}, got {value!r}")
            low, high, choices = f.metadata.get("low"), f.metadata.get("high"), f.metadata.get("choices")
            if low is not None and value < low or high is not None and value > high:
                raise UserError(f"{flag} {value} is out of range: use a value from {low} to {high}")
            if choices is not None and value not in choices:
                raise UserError(f"{flag} {value!r} is not valid: choose one of {', '.join(choices)}")

    def replace(self: S, **changes: Any) -> S:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def flag_name(f: dataclasses.Field) -> str:
    return "--" + (f.metadata.get("flag") or f.name.replace("_", "-"))


def scalar_type(hint: Any) -> type:
    """``float``, ``int``, ``str`` or ``bool`` from a hint such as ``float`` or ``str | None``."""
    for candidate in (bool, int, float, str):
        if hint is candidate or candidate in getattr(hint, "__args__", ()):
            return candidate
    raise TypeError(f"unsupported settings type {hint!r}")


def _dest(cls: type[Settings], f: dataclasses.Field) -> str:
    return f"{cls.section}__{f.name}"


def add_arguments(parser: argparse.ArgumentParser, cls: type[Settings]) -> None:
    """Add one flag per field of ``cls`` to ``parser`` (in a group named after the section)."""
    group = parser.add_argument_group(cls.section)
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = scalar_type(hints[f.name])
        default = f.default
        help_text = f"{f.metadata['help']} (default: {default})"
        common: dict[str, Any] = {"dest": _dest(cls, f), "default": argparse.SUPPRESS, "help": help_text}
        if kind is bool:
            group.add_argument(flag_name(f), action=argparse.BooleanOptionalAction, **common)
        else:
            choices = f.metadata.get("choices")
            group.add_argument(flag_name(f), type=kind, choices=choices, metavar=_metavar(kind, choices), **common)


def _metavar(kind: type, choices: tuple[str, ...] | None) -> str:
    if choices:
        return "{" + ",".join(choices) + "}"
    return {int: "N", float: "X", str: "TEXT"}[kind]


def from_sources(cls: type[S], args: argparse.Namespace | None = None, config: Mapping[str, Any] | None = None) -> S:
    """Build ``cls`` from its defaults, overridden by ``config[cls.section]``, overridden by flags."""
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    section = dict((config or {}).get(cls.section, {}))
    unknown = set(section) - names
    for key in sorted(unknown & set(cls.moved)):
        raise UserError(
            f"config section [{cls.section}] has key {key!r}, which moved to [{cls.moved[key]}] {key}: move it there"
        )
    if unknown:
        raise UserError(
            f"config section [{cls.section}] has unknown key {sorted(unknown)[0]!r}: "
            f"valid keys are {', '.join(sorted(names))}"
        )
    values.update(section)
    if args is not None:
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            dest = _dest(cls, f)
            if hasattr(args, dest):
                values[f.name] = getattr(args, dest)
    return cls(**values)


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read a TOML config file whose sections are settings sections (``[align]``, ``[mask]``, …)."""
    if path is None:
        return {}
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist: check the path given to --config") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"config file {path} is not valid TOML ({err}): fix the file") from None


def to_dict(obj: Settings) -> dict[str, Any]:
    return dataclasses.asdict(obj)  # type: ignore[call-overload]
