"""Import what a function uses from a library package without running the whole package ``__init__``.

Some packages re-export everything from their ``__init__``: importing
``aws_lambda_powertools.event_handler.api_gateway`` (the REST resolver) first runs
``event_handler/__init__.py``, which imports the AppSync, Bedrock, VPC Lattice and AppSync Events
resolvers too (and asyncio); ``utilities.data_classes`` imports some forty event classes when a
function needs one. That is paid at every cold start (``make bench``, README "Performance").

:func:`defer_package_init` registers such a package as a *lazy package*: a module with the real
package's ``__path__`` (so its submodules import as usual) whose names are resolved on first use:
a name the ``__init__`` re-exports with ``from <module> import <name>`` is taken from that
submodule, a submodule's name imports it; any other name runs the real ``__init__`` once and is
then looked up there. Every name the package offers stays available
(``from aws_lambda_powertools.event_handler import Response`` works); only the unused submodules
are not imported.

Powertools' root package is one too: its ``__init__`` imports Metrics and Tracer for every use of
its Logger. What that ``__init__`` does besides importing (the package logger, Powertools' botocore
user-agent feature, ``__version__`` and ``PACKAGE_PATH``) is done when the lazy package is registered
(``_INITS``), and the real ``__init__`` then never runs, so none of it is done twice.

:mod:`portal_common` registers the packages listed in ``DEFERRED`` when it is first imported, which
each function's handler does before anything else (a unit test checks that the handlers do not load
the AppSync modules).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

# Packages whose __init__ only re-exports its submodules (or whose other work ``_INITS`` does).
# A parent comes before its subpackages (finding a subpackage imports its parent).
DEFERRED = (
    # Its __init__ imports Metrics (the EMF provider) and Tracer for every function, used or not.
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
    # ClaimsApi renders the idempotency exceptions at import; the decorator and its store load with the claim routes.
    "aws_lambda_powertools.utilities.idempotency",
)

_init_lock = threading.RLock()


def _powertools_init(module: ModuleType) -> None:
    """What ``aws_lambda_powertools/__init__.py`` does besides importing its names: the package's
    own logger (silent unless ``POWERTOOLS_DEBUG``), Powertools' botocore user-agent feature, and
    its plain attributes. Done here, its real ``__init__`` never runs (it would do both again);
    ``tests/unit/test_cold_start_imports.py`` checks that every name it defines is offered."""
    from pathlib import Path

    from aws_lambda_powertools.package_logger import set_package_logger_handler
    from aws_lambda_powertools.shared.user_agent import inject_user_agent
    from aws_lambda_powertools.shared.version import VERSION

    module.__dict__.update(
        __version__=VERSION,
        __author__="Amazon Web Services",
        __all__=["Logger", "Metrics", "single_metric", "Tracer"],
        PACKAGE_PATH=Path(str(module.__file__)).parent,
    )
    set_package_logger_handler()
    inject_user_agent()


# A lazy package whose __init__ does more than import: that work, done when it is registered.
_INITS: dict[str, Callable[[ModuleType], None]] = {"aws_lambda_powertools": _powertools_init}
_FROM_IMPORT = re.compile(r"^from\s+(\.?[\w.]*)\s+import\s+(\([^)]*\)|[^\n]+)", re.MULTILINE)


def _reexports(package: str, source: str) -> dict[str, str]:
    """``name -> module`` for every ``from <module> import <names>`` line of a package ``__init__``."""
    found: dict[str, str] = {}
    for module, names in _FROM_IMPORT.findall(source):
        absolute = f"{package}{module}" if module.startswith(".") else module
        if module == "." or not absolute.startswith(package + "."):
            continue
        for part in names.strip("()").replace("\n", " ").split(","):
            words = part.split("#", 1)[0].split()
            if words:
                found[words[-1]] = absolute  # "A as B" binds B
    return found


def defer_package_init(package: str) -> None:
    """Register ``package`` as a lazy package (nothing happens if it is already imported or absent)."""
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    try:
        with open(spec.origin, encoding="utf-8") as handle:
            exports = _reexports(package, handle.read())
    except (OSError, UnicodeDecodeError):  # no readable source (a sourceless install): import it as usual
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    state = {"initialized": False}

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
        elif not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")  # ``from package import submodule``
        elif name == "__all__" or not name.startswith("__"):
            with _init_lock:  # the local stack imports from several threads
                if not state["initialized"]:
                    state["initialized"] = True
                    loader.exec_module(module)  # the real __init__, once, for a name it defines itself
            if name not in module.__dict__:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return module.__dict__[name]
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    setattr(module, "__getattr__", __getattr__)  # noqa: B010 - PEP 562 hook on the module
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    init = _INITS.get(package)
    if init is not None:
        state["initialized"] = True  # the real __init__ never runs: a name it does not offer is an AttributeError
        init(module)


def defer_all() -> None:
    """Register every package of ``DEFERRED``."""
    for package in DEFERRED:
        defer_package_init(package)
