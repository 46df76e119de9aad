"""The subcommand protocol and the argument parser that reports a bad command line on one line."""

from __future__ import annotations

import argparse
from typing import Protocol


class Command(Protocol):
    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a bad command line on one line (plus the hint to use --help)."""

    def error(self, message: str):  # noqa: D102 — argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
