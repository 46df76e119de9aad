"""``python -m swapcam.export.train``: ``swapcam train`` as a module that torchrun can start
(``torchrun --nproc_per_node=K -m swapcam.export.train …``, the arguments of ``swapcam train``).

The training itself lives in :mod:`swapcam.export.training`.
"""

from __future__ import annotations

import sys

from swapcam.realtime.core.command import OneLineErrorParser
from swapcam.realtime.core.errors import UserError

from .cli import TrainCommand


def main(argv: list[str] | None = None) -> int:
    """``python -m swapcam.export.train`` (for torchrun): the arguments of ``swapcam train``."""
    command = TrainCommand()
    parser = OneLineErrorParser(prog="python -m swapcam.export.train", description=command.help)
    command.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return command.run(args)
    except UserError as err:
        print(f"swapcam: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
