"""Opening a store where the user says it is: a folder (created if asked) or a bucket.

A reader (list, show, verify, export) opens without writing anything, so that a
store on a read-only mount or in a colleague's folder can be read. A writer
creates the layout in a new or empty folder only, never among someone else's
files, and is warned when the folder belongs to another user: a store holds
pickles, and loading one runs its writer's code.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from wfnb.errors import StoreError
from wfnb.store.backend import LOCAL, Backend, open_backend, register_backend
from wfnb.store.core import Store, fsync_enabled
from wfnb.store.layout import DIRECTORIES, FORMAT_FILE, check_format, format_bytes
from wfnb.store.localfs import LocalFiles
from wfnb.store.remote import open_remote

_DEFAULT_DIR = ".wfnb"


def open_store(location: str | os.PathLike[str] | None = None, *, create: bool = True, write: bool = True) -> Store:
    """Open (creating if needed, unless ``create`` is False) the store at ``location``.

    ``None`` means ``$WFNB_STORE`` if set, else ``.wfnb`` in the current working
    directory, resolved now so that a later ``chdir`` does not move the store.
    Opening to write also removes temporary files left by writers that are
    gone. With ``create=False`` (readers: list, show, diff, verify, export)
    nothing is written at all, so that a store on a read-only mount or in a
    colleague's folder can be read. With ``write=False`` (a command that only
    looks: ``wfnb list``, ``show``, ``diff``) the store is opened read-only
    (``Store.read_only``): not even a damaged file is moved aside.

    Raises
    ------
    StoreError
        If the location is a file, not writable (when opened to write), a
        non-empty directory that is not a store, or has a FORMAT this version
        cannot read.
    """
    if location is None:
        location = os.environ.get("WFNB_STORE") or Path.cwd() / _DEFAULT_DIR
    text = str(os.fspath(location))
    fsync_enabled()  # a bad setting fails now, not at the first commit
    files = open_backend(text, write=write)
    root = files.root
    try:
        raw = files.read_bytes(FORMAT_FILE)
    except FileNotFoundError:
        raw = None
    except OSError as err:
        raise files.error(err, "read the FORMAT file of") from err
    if raw is None and not (create and write):
        raise StoreError(
            f"There is no wfnb store at {root}. Give the store's location with --store or WFNB_STORE "
            "(a notebook's store is the .wfnb directory beside it)."
        )
    if raw is None:
        files.refuse_foreign(DIRECTORIES)
        files.make_dirs(DIRECTORIES)
        files.write(FORMAT_FILE, [format_bytes()])
    else:
        check_format(raw, str(root))
        if not create:  # a reader (list, show, verify, export): no write access needed, none tried
            return Store(root, files)
        files.make_dirs(DIRECTORIES)
    files.probe()
    files.clean_tmp()
    return Store(root, files)


def open_store_to_write_or_read(location: str | os.PathLike[str] | None = None) -> Store:
    """``open_store(location)`` to write; if the store exists but cannot be written (a colleague's archive, a
    read-only mount), opened read-only instead (``Store.read_only``): a notebook can still use its results."""
    try:
        return open_store(location)
    except StoreError as error:
        unwritable = "read-only file system" in str(error) or "is not writable" in str(error)
        try:
            store = open_store(location, create=False, write=False)
        except StoreError:
            raise error from None
        if not unwritable:
            raise
        return store


def _open_local(location: str, write: bool) -> Backend:
    """A store in a local directory (the backend of a plain path)."""
    root = Path(location).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise StoreError(
            f"The store location {root} is an existing file, not a directory. Choose a directory "
            "(new or empty) with WFNB_STORE or open_store(path), or move that file away."
        )
    files = LocalFiles(root, read_only=not write)
    _warn_if_owned_by_another_user(root)
    return files


def _open_remote(location: str, write: bool) -> Backend:
    """A store in object storage: the same layout, conditional writes instead of renames."""
    return open_remote(location)


register_backend(LOCAL, _open_local)
register_backend("s3", _open_remote)
register_backend("s3a", _open_remote)


_warned_owners: set[str] = set()


def _warn_if_owned_by_another_user(root: Path) -> None:
    """Warn once per store whose directory belongs to someone else: loading its pickles runs their code."""
    getuid = getattr(os, "geteuid", None)
    try:
        owner = root.stat().st_uid
    except OSError:
        return  # not created yet: it will be ours
    if getuid is None or owner == getuid() or str(root) in _warned_owners:
        return
    _warned_owners.add(str(root))
    warnings.warn(
        f"The wfnb store at {root} belongs to another user (uid {owner}). A store holds pickles, and loading "
        "one can run any code: open it only if you trust whoever writes it as you would trust their code. "
        "Use your own store with WFNB_STORE or %wfnb store PATH otherwise.",
        stacklevel=5,  # the caller of open_store (through open_backend and _open_local)
    )
