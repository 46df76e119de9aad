"""Writing result files (reports, models) so a crash never leaves half a file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import UserError


def require_folder(path: str | Path) -> Path:
    """``path`` as a Path, after checking that the folder it would be written into exists (so a run
    fails before it starts, not after its work is done)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


def write_atomic(path: str | Path, write: Callable[[str], None], durable: bool = False) -> None:
    """Call ``write(temporary_path)`` next to ``path``, then rename the result onto ``path``.

    The file gets the permissions of an ordinary new file (0666 less the umask): mkstemp makes it
    private, which would leave a report or model that other users and tools cannot read.
    ``durable``: fsync the file before the rename, so that after a power loss ``path`` holds the old
    file or the new one whole (training checkpoints), not a renamed file whose data never reached disk."""
    path = require_folder(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        write(tmp)
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
