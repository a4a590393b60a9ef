"""wfnb: a Jupyter notebook as a cached, versioned, replayable workflow.

``%load_ext wfnb``, then start a cell with ``%%step NAME``. Importing wfnb is
cheap: the heavy parts (pandas, the store) load on first use.
"""

import typing as _typing

__all__ = [
    # the notebook extension
    "load_ipython_extension",
    # inside a step
    "log",
    # past work
    "variants",
    "variant",
    "replay",
    "tag",
    "pin",
    "unpin",
    "why",
    "Variant",
    "browse",
    "runs",
    "verify",
    "gc",
    "disk_usage",
    # can the cache be trusted on a notebook?
    "check_cache",
    "CheckReport",
    # outside the notebook
    "Workflow",
    # many points, shared stores
    "sweep",
    "configure",
    # errors
    "WfnbError",
]

if _typing.TYPE_CHECKING:
    from wfnb.cache.metrics import log
    from wfnb.errors import WfnbError
    from wfnb.frontends.api import pin, replay, runs, tag, unpin, variant, variants, why
    from wfnb.frontends.browser import browse
    from wfnb.frontends.check import CheckReport, check_cache
    from wfnb.frontends.upkeep import disk_usage, gc, verify
    from wfnb.history.sweeps import sweep
    from wfnb.history.variants import Variant
    from wfnb.history.workflow import Workflow
    from wfnb.store.settings import configure

_LAZY = {
    "log": "wfnb.cache.metrics",
    "variants": "wfnb.frontends.api",
    "variant": "wfnb.frontends.api",
    "replay": "wfnb.frontends.api",
    "tag": "wfnb.frontends.api",
    "why": "wfnb.frontends.api",
    "pin": "wfnb.frontends.api",
    "unpin": "wfnb.frontends.api",
    "Variant": "wfnb.history.variants",
    "browse": "wfnb.frontends.browser",
    "runs": "wfnb.frontends.api",
    "verify": "wfnb.frontends.upkeep",
    "gc": "wfnb.frontends.upkeep",
    "disk_usage": "wfnb.frontends.upkeep",
    "check_cache": "wfnb.frontends.check",
    "CheckReport": "wfnb.frontends.check",
    "Workflow": "wfnb.history.workflow",
    "sweep": "wfnb.history.sweeps",
    "configure": "wfnb.store.settings",
    "WfnbError": "wfnb.errors",
}


def load_ipython_extension(shell: "_typing.Any") -> None:
    """Register ``%%step`` and ``%wfnb`` in an IPython shell (``%load_ext wfnb``)."""
    from wfnb.cache.following import install
    from wfnb.errors import show_errors_plainly
    from wfnb.frontends.magics import WorkflowMagics, await_transformer
    from wfnb.history.kernel import attach

    show_errors_plainly(shell)
    install(shell)
    attach(shell)  # the session itself (and what it imports) is made on first use
    shell.register_magics(WorkflowMagics(shell))
    cleanup = shell.input_transformers_cleanup
    cleanup[:] = [t for t in cleanup if not getattr(t, "wfnb", False)]  # %reload_ext adds it once
    cleanup.append(await_transformer(shell))


def _version() -> str:
    """The installed version, read on first use: importlib.metadata costs ~30 ms, too much for ``%load_ext``."""
    from importlib import metadata

    try:
        return metadata.version("wfnb")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "0.1.0"


def __getattr__(name: str) -> "_typing.Any":
    if name == "__version__":
        globals()["__version__"] = found = _version()
        return found
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wfnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names only: what ``wfnb.<Tab>`` completes (the lazy ones are not module attributes yet)."""
    return sorted([*__all__, "__version__"])
