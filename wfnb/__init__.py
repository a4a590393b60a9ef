"""wfnb: a Jupyter notebook as a cached, versioned, replayable workflow.

``%load_ext wfnb``, then start a cell with ``%%step NAME``. Importing wfnb is
cheap: the heavy parts (pandas, the store) load on first use.
"""

import typing as _typing

__version__ = "0.1.0"

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
    # outside the notebook
    "Workflow",
    # many points, shared stores
    "sweep",
    "configure",
    # errors
    "WfnbError",
]

if _typing.TYPE_CHECKING:
    from wfnb.api import pin, replay, tag, unpin, variant, variants, why
    from wfnb.browser import browse
    from wfnb.config import configure
    from wfnb.errors import WfnbError
    from wfnb.housekeeping import disk_usage, gc
    from wfnb.interchange import Workflow
    from wfnb.metrics import log
    from wfnb.records import Variant
    from wfnb.runlog import runs
    from wfnb.sweeps import sweep
    from wfnb.verification import verify

_LAZY = {
    "log": "wfnb.metrics",
    "variants": "wfnb.api",
    "variant": "wfnb.api",
    "replay": "wfnb.api",
    "tag": "wfnb.api",
    "why": "wfnb.api",
    "pin": "wfnb.api",
    "unpin": "wfnb.api",
    "Variant": "wfnb.records",
    "browse": "wfnb.browser",
    "runs": "wfnb.runlog",
    "verify": "wfnb.verification",
    "gc": "wfnb.housekeeping",
    "disk_usage": "wfnb.housekeeping",
    "Workflow": "wfnb.interchange",
    "sweep": "wfnb.sweeps",
    "configure": "wfnb.config",
    "WfnbError": "wfnb.errors",
}


def load_ipython_extension(shell: "_typing.Any") -> None:
    """Register ``%%step`` and ``%wfnb`` in an IPython shell (``%load_ext wfnb``)."""
    from wfnb.errors import show_errors_plainly
    from wfnb.magics import WorkflowMagics, await_transformer
    from wfnb.session import start_session
    from wfnb.tracing import install

    show_errors_plainly(shell)
    install(shell)
    shell.register_magics(WorkflowMagics(shell, start_session(shell)))
    cleanup = shell.input_transformers_cleanup
    cleanup[:] = [t for t in cleanup if not getattr(t, "wfnb", False)]  # %reload_ext adds it once
    cleanup.append(await_transformer(shell))


def __getattr__(name: str) -> "_typing.Any":
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wfnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names only: what ``wfnb.<Tab>`` completes (the lazy ones are not module attributes yet)."""
    return sorted([*__all__, "__version__"])
