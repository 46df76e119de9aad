"""Small named registries for interchangeable parts (detectors, colour transfers, sinks, …)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import UserError

T = TypeVar("T")


@dataclass(frozen=True)
class BadInput:
    """A command line that uses one registered part wrongly, and what its one-line error must say.

    ``args``: arguments of the subcommand that picks the part and gets it wrong (``{tmp}`` stands for
    an empty scratch folder, which must stay empty); ``message``: a fragment of the line
    ``swapcam: error: …`` it must end in, with exit code 2 and no traceback. tests/test_bad_input.py
    runs every declared one through the real command line.
    """

    args: tuple[str, ...]
    message: str


class Registry(Generic[T]):
    """Maps names to implementations; lookups of unknown names raise a UserError listing the choices.

    >>> colors = Registry("colour transfer")
    >>> @colors.register("none")
    ... def no_transfer(x): return x
    >>> colors.get("none") is no_transfer
    True

    A part a user names on the command line (an input or output kind, a detector, a precision)
    registers with the ``bad_input`` it must refuse in one line: see :class:`BadInput`.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self.bad_inputs: dict[str, BadInput] = {}

    def register(self, name: str, bad_input: BadInput | None = None) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = item
            if bad_input is not None:
                self.bad_inputs[name] = bad_input
            return item

        return add

    def unregister(self, name: str) -> None:
        """Take ``name`` out again (a test's temporary part); KeyError when it was never registered."""
        del self._items[name]
        self.bad_inputs.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UserError(f"unknown {self.kind} {name!r}: choose one of {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
