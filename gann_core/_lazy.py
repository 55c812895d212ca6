"""Package attributes imported on first use, so that importing a package stays light."""

from __future__ import annotations

import sys
from importlib import import_module


def lazy_attributes(package: str, modules: dict[str, str]):
    """Return a module ``__getattr__`` for ``package`` that imports each name of ``modules`` on first use.

    ``modules`` maps a public name to the module that defines it. The value is stored in the
    package, so later uses skip the lookup.
    """

    def __getattr__(name: str):
        if name in modules:
            value = getattr(import_module(modules[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
