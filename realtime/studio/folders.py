"""The folders given at start, and the only places the page may name files in: models, media (input
files and photo folders), recordings and snapshots, presets. A name from the page is resolved inside
its folder and refused when it leads anywhere else (``../``, an absolute path, a link out)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import UserError
from ..sources.base import IMAGE_SUFFIXES

MODEL_SUFFIXES = (".onnx", ".dfm")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm")
# names the page may give to a new file: letters, digits, dot, dash, underscore
NEW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class Folders:
    models: Path | None
    media: Path | None
    recordings: Path
    presets: Path

    def model(self, name: str) -> Path:
        path = inside(self.models, name, "models")
        if path.suffix.lower() not in MODEL_SUFFIXES or not path.is_file():
            raise UserError(f"model {name!r} is not a model file in {self.models}: pick one the list shows")
        return path

    def media_file(self, name: str) -> Path:
        path = inside(self.media, name, "media")
        if not path.exists():
            raise UserError(f"{name!r} is not in the media folder {self.media}: pick one the list shows")
        return path

    def new_file(self, folder: Path, name: str, suffix: str, what: str) -> Path:
        """A file to write in ``folder`` (created on first use), named ``name`` (``suffix`` added when
        it has none)."""
        if not NEW_NAME.fullmatch(name):
            raise UserError(f"file name {name!r} is not allowed: use letters, digits, '.', '-' and '_'")
        folder.mkdir(parents=True, exist_ok=True)
        return inside(folder, name if Path(name).suffix else name + suffix, what)

    def listing(self) -> dict[str, list[str]]:
        """What the page offers: model files, media files and photo folders, presets."""
        return {
            "models": _names(self.models, lambda p: p.is_file() and p.suffix.lower() in MODEL_SUFFIXES),
            "media": _names(self.media, _is_media),
            "presets": [Path(n).stem for n in _names(self.presets, lambda p: p.suffix == ".toml")],
        }


def _is_media(path: Path) -> bool:
    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in VIDEO_SUFFIXES


def _names(folder: Path | None, keep) -> list[str]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if keep(p))


def inside(folder: Path | None, name: str, what: str) -> Path:
    """``folder/name`` resolved, refused unless it lies inside ``folder``."""
    if folder is None:
        raise UserError(f"no {what} folder was given: start swapcam studio with --{what} DIR")
    if not isinstance(name, str) or not name or "\0" in name:
        raise UserError(f"{name!r} is not a file name: name a file inside {folder}")
    root = folder.resolve()
    path = (root / name).resolve()
    if path == root or not path.is_relative_to(root):
        raise UserError(f"{name!r} is outside the {what} folder: name a file inside {folder}")
    return path
