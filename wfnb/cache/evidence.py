"""What a step record keeps so that ``wfnb why`` can later say *what* changed, not only *that* it did.

A key or a probe holds a digest: enough to decide a hit, not enough to explain a
miss. So when a step runs, its record also keeps, for the files it read, their
size, modification time and digest (and the whole text of a small text file),
and the source of the local modules and notebook helpers it used. Texts go to the
store as JSON blobs named by their content, so an unchanged file or module costs
nothing the next time. Data files are not copied: only text files up to
``TEXT_LIMIT`` bytes are, so that a line diff can be shown.

Everything here is best effort: a fact that cannot be taken (a file removed
meanwhile, a function without source) is simply not kept, and ``why`` says so.

A store may be shared, so no text that may be a secret is copied into it: only
files below the working directory are kept whole, none in a hidden folder or
named like a key or a credential (as environment variables, which are kept as
hashes only).
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfnb.cache.fingerprint import Fingerprint
    from wfnb.cache.probes import Trace
    from wfnb.store import Store

TEXT_LIMIT = 64 * 1024  # bytes of a data file kept whole when it is text (a CSV of a few hundred rows)
SOURCE_LIMIT = 1 << 20  # bytes of a module's or helper's source kept
MAX_FILES = 32  # files per record whose facts are kept: the first ones read


def gather(store: Store, fingerprint: Fingerprint, trace: Trace, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence of one run: ``files`` (path as the record names it → facts), ``modules`` and
    ``helpers`` (name → source blob)."""
    from wfnb.cache import localmodules

    read = dict(fingerprint.files)  # --deps, as given; the trace's files are absolute paths
    read.update({what: value for kind, what, value in trace.probes if kind == "file"})
    files = {}
    for path, digest in list(read.items())[:MAX_FILES]:
        facts = file_facts(store, path, digest)
        if facts is not None:
            files[path] = facts
    names = {name for name in fingerprint.modules if _is_local(name)}
    names |= {what for kind, what, _ in trace.probes if kind == "module"}
    modules = {}
    for name in sorted(names):
        text = _module_source(name, localmodules.source_state(name))
        if text is not None:
            modules[name] = _keep(store, text)
    helpers = {}
    for name in sorted(fingerprint.inputs):
        text = _helper_source(namespace.get(name))
        if text is not None:
            helpers[name] = _keep(store, text)
    found = {"files": files, "modules": modules, "helpers": helpers}
    return {kind: entries for kind, entries in found.items() if entries}


def file_facts(store: Store | None, path: str, digest: str) -> dict[str, Any] | None:
    """Size, modification time and digest of a file as the step read it (None if it has changed since),
    and its text when it is small text (kept in ``store``)."""
    from wfnb.cache.files import path_digest

    try:
        info = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path) or path_digest(path) != digest:
        return None
    facts: dict[str, Any] = {"size": info.st_size, "mtime": info.st_mtime, "digest": digest}
    if store is not None and info.st_size <= TEXT_LIMIT and _may_copy(path):
        text = _text_of(path)
        if text is not None:
            facts["text"] = _keep(store, text)
    return facts


def text(store: Store, blob: str | None) -> str | None:
    """A text kept by ``gather``, or None if there is none (or it is no longer in the store)."""
    from wfnb.errors import CorruptObject, StoreError

    if not blob:
        return None
    try:
        data = store.get_json(blob)
    except (CorruptObject, StoreError):
        return None
    return data.get("text") if isinstance(data, dict) else None


def _may_copy(path: str) -> bool:
    """Whether a file's text may be copied into the store: a project file, not one that may hold a secret."""
    relative = os.path.relpath(os.path.abspath(path))
    if relative.startswith(".."):
        return False
    parts = relative.split(os.sep)
    if any(part.startswith(".") for part in parts):
        return False  # .env, .aws/, .ssh/, .netrc: hidden files are configuration, often credentials
    name = parts[-1].lower()
    return not any(word in name for word in _SECRET_WORDS) and not name.endswith(_SECRET_SUFFIXES)


_SECRET_WORDS = ("secret", "credential", "password", "passwd", "token", "apikey", "api_key", "private")
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".keystore")


def _keep(store: Store, text: str) -> str:
    return store.put_json({"text": text})


def _text_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(TEXT_LIMIT + 1)
    except OSError:
        return None
    if len(raw) > TEXT_LIMIT or b"\0" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_local(name: str) -> bool:
    from wfnb.cache import localmodules
    from wfnb.cache.codeorigin import is_user_file

    if " " in name or name == "sys.argv":
        return False
    origin = localmodules.locate(name)
    return origin is not None and is_user_file(origin)


def _module_source(name: str, source_digest: str) -> str | None:
    """The source of a local module, if the file on disk is still what the kernel runs."""
    from wfnb.cache import localmodules
    from wfnb.cache.files import path_digest

    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) or localmodules.locate(name)
    if not isinstance(path, str) or not path.endswith(".py") or path_digest(path) != source_digest:
        return None
    try:
        if os.path.getsize(path) > SOURCE_LIMIT:
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _helper_source(value: Any) -> str | None:
    """The source of a function or class the notebook (or a local module) defined."""
    from wfnb.cache.codeorigin import is_library_module

    target = getattr(value, "__func__", value)
    if not isinstance(target, (types.FunctionType, type)) or is_library_module(getattr(target, "__module__", "") or ""):
        return None
    try:
        source = inspect.getsource(target)
    except (OSError, TypeError):
        return None
    return source if len(source) <= SOURCE_LIMIT else None
