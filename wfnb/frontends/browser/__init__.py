"""``wfnb.browse()``: an ipywidgets browser of a workflow's variants, to find, compare, plot and replay them.

``state`` holds what the browser shows and does (plain traitlets, tested
without a front end); ``view`` draws it with ipywidgets. Importing this package
imports neither ipywidgets nor matplotlib: ``browse()`` does, when called.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from wfnb.errors import BadArgument

if TYPE_CHECKING:
    from wfnb.frontends.browser.view import BrowserView
    from wfnb.store import Store

__all__ = ["browse"]


def browse(workflow: str | None = None, store: Store | str | None = None, *, read_only: bool = False) -> BrowserView:
    """The variant browser, as a widget: table, filter, detail, compare, plots, and replay/sweep/restore/export/tag.

    In a notebook with ``%load_ext wfnb`` it shows the notebook's workflow and
    store, and follows them as they change: steps, ``%%params``, replays,
    sweeps, tags, checkouts (untick *Live* to stop); anywhere else,
    ``$WFNB_STORE`` or ``./.wfnb`` and every workflow in it. Where widgets
    cannot be shown, its text form is the table of variants.

    Parameters
    ----------
    workflow
        The workflow to list first; the browser's selector switches to others or to all.
    store
        A store or its location; default: the notebook's store, else ``$WFNB_STORE``, else ``./.wfnb``.
    read_only
        Only look: replay, sweep, check, restore, export, tag and pin are off, and a store given by its
        location is opened read-only (what ``wfnb ui`` serves unless ``--allow-runs``).

    Examples
    --------
    >>> wfnb.browse()                      # doctest: +SKIP
    >>> wfnb.browse("prices", "runs/.wfnb")  # doctest: +SKIP
    """
    from wfnb.frontends.browser.state import BrowserState
    from wfnb.frontends.browser.view import BrowserView
    from wfnb.history.session import current_session, resolve_store
    from wfnb.history.snapshots import workflows

    session = current_session()
    if read_only and isinstance(store, (str, os.PathLike)):
        from wfnb.store import open_store

        opened = open_store(store, create=False, write=False)
    else:
        opened = resolve_store(store, create=session is not None and store is None)
    if workflow is not None and workflow not in workflows(opened):
        known = ", ".join(workflows(opened)) or "none yet"
        raise BadArgument(f"The store at {opened.root} has no variant of workflow {workflow!r}; its workflows: {known}.")
    follows = session is not None and (store is None or Path(opened.root) == Path(session.store.root))
    state = BrowserState(opened, workflow, session=session if follows else None, read_only=read_only)
    if not read_only:
        _warm_worker(state)
    return BrowserView(state)


def _warm_worker(state: object) -> None:
    """Start the worker for replays and sweeps now, importing the libraries of the newest variant's steps,
    so that the first Replay does not wait for Python to start (see ``jobs``)."""
    from wfnb.frontends.browser import jobs
    from wfnb.history.workers import step_imports

    variants = list(getattr(state, "_variants", {}).values())
    newest = max(variants, key=lambda v: v.number, default=None)
    jobs.warm_up(step_imports(newest) if newest is not None else [])
