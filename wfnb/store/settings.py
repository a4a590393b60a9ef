"""Settings for remote stores: ``wfnb.configure(storage_options=..., cache_dir=...)``.

A remote store (``s3://bucket/prefix``) needs what fsspec needs to reach it:
credentials, an endpoint, a region. These come, in order of precedence, from
``wfnb.configure(...)`` in this process, the ``WFNB_STORAGE_OPTIONS``
environment variable (a JSON object), and what botocore reads by itself
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``). The
environment is what reaches a Dask worker or a second kernel; ``configure`` is
for one process (a sweep passes it on to its workers itself).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wfnb.errors import BadArgument, api_boundary

STORAGE_OPTIONS_ENV = "WFNB_STORAGE_OPTIONS"
CACHE_DIR_ENV = "WFNB_CACHE_DIR"


@dataclass(frozen=True)
class Settings:
    """What ``configure`` set; None means "from the environment"."""

    storage_options: dict[str, Any] | None = None
    cache_dir: str | None = None


_settings = Settings()


@api_boundary
def configure(*, storage_options: dict[str, Any] | None = None, cache_dir: str | os.PathLike[str] | None = None) -> None:
    """Set how remote stores are reached in this process.

    Environment variables reach every process (kernels, Dask workers); this
    call is for the cases they cannot express, such as a session token obtained
    at run time. ``wfnb.sweep`` passes these settings on to its workers.

    Parameters
    ----------
    storage_options
        Keyword arguments for the fsspec file system, e.g.
        ``{"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}, "key": ..., "secret": ...}``.
        Replaces ``$WFNB_STORAGE_OPTIONS``; ``None`` leaves the current value.
    cache_dir
        Where the local read cache of remote objects lives (default
        ``$WFNB_CACHE_DIR``, else ``~/.cache/wfnb/remote``).
    """
    global _settings
    if storage_options is not None and not isinstance(storage_options, dict):
        raise BadArgument(
            f"storage_options must be a dict of fsspec options, but a {type(storage_options).__name__} was given. "
            'Pass e.g. {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}.'
        )
    changes: dict[str, Any] = {}
    if storage_options is not None:
        changes["storage_options"] = dict(storage_options)
    if cache_dir is not None:
        changes["cache_dir"] = os.fspath(cache_dir)
    _settings = replace(_settings, **changes)


def reset() -> None:
    """Forget what ``configure`` set (back to the environment); for tests and workers."""
    global _settings
    _settings = Settings()


def current() -> Settings:
    """The settings in force: ``configure``'s, else the environment's."""
    return Settings(storage_options=storage_options(), cache_dir=str(cache_dir()))


def storage_options() -> dict[str, Any]:
    """The fsspec options for remote stores: ``configure``'s, else ``$WFNB_STORAGE_OPTIONS``, else none."""
    if _settings.storage_options is not None:
        return dict(_settings.storage_options)
    text = os.environ.get(STORAGE_OPTIONS_ENV, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as err:
        value, problem = None, f"it is not valid JSON ({err})"
    else:
        problem = "it is not a JSON object"
    if not isinstance(value, dict):
        raise BadArgument(
            f"{STORAGE_OPTIONS_ENV} is set to {text[:80]!r}, but {problem}. Set it to a JSON object of fsspec "
            'options, e.g. {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}, or unset it.'
        )
    return value


def cache_dir() -> Path:
    """The root of the local read cache of remote stores."""
    chosen = _settings.cache_dir or os.environ.get(CACHE_DIR_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "wfnb" / "remote"
