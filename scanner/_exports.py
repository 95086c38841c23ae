"""Lazy package exports: a name is imported from its module on first use, so that
importing a package never pulls in its heavy dependencies."""

from __future__ import annotations

from importlib import import_module


def lazy_getattr(package: str, exports: dict[str, str]):
    """A module ``__getattr__`` that resolves ``exports`` (name -> module) on demand."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
