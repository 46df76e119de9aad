"""Small named registries for interchangeable parts (detectors, colour transfers, sinks, …)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to implementations; lookups of unknown names raise a UserError listing the choices.

    >>> colors = Registry("colour transfer")
    >>> @colors.register("none")
    ... def no_transfer(x): return x
    >>> colors.get("none") is no_transfer
    True
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = item
            return item

        return add

    def unregister(self, name: str) -> None:
        """Take ``name`` out again (a test's temporary part); KeyError when it was never registered."""
        del self._items[name]

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
