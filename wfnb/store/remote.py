"""A store in object storage (``s3://bucket/prefix``): the same file interface as ``LocalFiles``, over fsspec.

The layout is the local one, key for key. What a rename gives on a disk, a
conditional request gives here, so that several kernels and machines can share
one store:

* **Write-once files** (objects, run-log entries, FORMAT) and **exclusive
  refs** (variant numbers, identities, tags) are written with a conditional put
  (``IfNoneMatch="*"``): of two writers of one name exactly one succeeds, the
  other learns that the name exists, and nothing is ever overwritten. An S3 PUT
  (a completed multipart upload too) is atomic, so no reader sees a partial file.
* **Replaced files** (step records, ``HEAD`` and other replaced refs) are written
  by compare-and-swap: the put names the ETag of the version it replaces
  (``IfMatch``, or ``IfNoneMatch`` when there is none) and is retried on a
  conflict. A replace therefore never lands on a version it did not see, and two
  concurrent replaces are ordered by the server: the final value is the whole
  document of the last one, never a mix. For a record (any complete record of a
  key is valid: equal inputs, equal content) and for ``HEAD`` (the latest
  consistent state wins, by design) that is what "never lose an update" means:
  no write is half-applied, and none is silently undone by a writer that had
  not seen it.
* **Objects are cached locally** (``wfnb.configure(cache_dir=...)``,
  ``$WFNB_CACHE_DIR``, default ``~/.cache/wfnb/remote``). An object never
  changes under its name, and every read checks its checksum, so a cached copy
  that verifies is always valid: a repeated hit makes no request for its values.
  A writer keeps a copy of what it uploads. ``verify()`` bypasses the cache, so
  that it checks the bytes in the bucket.
* ``sync`` does nothing: a successful S3 put is durable.

Deletions (quarantine) name the ETag that was read (``IfMatch``), so a file
rewritten by another writer meanwhile is never deleted by mistake.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import xxhash

from wfnb.errors import StoreError
from wfnb.store.layout import CORRUPT, FORMAT_FILE, OBJECTS, RUNS, TMP
from wfnb.store.localfs import _HOST, _TMP_MAX_AGE_S, _unlink_quietly, remove_stale_tmp
from wfnb.store.s3errors import describe_error, is_conflict, missing_s3fs, no_bucket

_PROTOCOLS = ("s3", "s3a")
_WRITE_ONCE = (OBJECTS + "/", RUNS + "/", FORMAT_FILE)
_CAS_TRIES = 50  # a ref replaced by 50 writers at once is not a realistic load; give up loudly then
_CHUNK = 16 << 20


class RemoteFiles:
    """A store's files under a prefix of a bucket; every method takes a relative POSIX path."""

    background_writes = False  # a write is a request through fsspec's client, kept on the caller's thread
    read_only = False  # not enforced here: the bucket's permissions decide what a reader may change

    def __init__(self, url: str, fs: Any, base: str, cache: Path) -> None:
        self.root = url  # what messages show
        self._fs = fs
        self._base = base.rstrip("/")
        self._cache = cache
        self._fresh = False
        self._etags: dict[str, str] = {}  # rel → ETag of the last uncached download, for quarantine

    # ----- reading
    def open_read(self, rel: str) -> BinaryIO:
        """A local file with the content of ``rel``: the cached copy for objects, else a fresh download."""
        if rel.startswith(OBJECTS + "/") and not self._fresh:
            cached = self._cache / rel
            try:
                return open(cached, "rb", buffering=0)
            except FileNotFoundError:
                pass
            self._download(rel, cached)
            return open(cached, "rb", buffering=0)
        handle = tempfile.TemporaryFile(dir=self._cache_tmp())
        try:
            self._etags[rel] = self._copy_to(rel, handle)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        return handle

    def read_bytes(self, rel: str) -> bytes:
        """The whole content of a small file (records, refs, run entries)."""
        with self._translate("read", rel):
            return self._fs.cat_file(self._path(rel))

    def exists(self, rel: str) -> bool:
        """True if a file exists at ``rel`` in the bucket (a cached copy alone does not count)."""
        with self._translate("read", rel):
            return bool(self._fs.isfile(self._path(rel)))

    def size(self, rel: str) -> int:
        """Size in bytes; FileNotFoundError if absent."""
        if rel.startswith(OBJECTS + "/"):
            with contextlib.suppress(FileNotFoundError):
                return (self._cache / rel).stat().st_size
        with self._translate("read", rel):
            return int(self._fs.info(self._path(rel))["size"])

    def walk(self, top: str) -> Iterator[str]:
        """Relative paths of all files under ``top``, sorted."""
        start = len(self._base) + 1
        with self._translate("list", top):
            found = sorted(self._fs.find(self._path(top)))
        for path in found:
            rel = path[start:]
            if rel and not rel.endswith("/"):
                yield rel

    def listing(self, top: str) -> Iterator[tuple[str, int, float]]:
        """``(path, size, last modified)`` of every file under ``top``, from one listing of the bucket."""
        start = len(self._base) + 1
        with self._translate("list", top):
            found = self._fs.find(self._path(top), detail=True)
        for path, info in sorted(found.items()):
            rel = path[start:]
            if rel and not rel.endswith("/") and info.get("type", "file") != "directory":
                yield rel, int(info.get("size", 0)), _timestamp(info)

    def modified(self, rel: str) -> float:
        """When ``rel`` was last written or freshened (the bucket's LastModified); FileNotFoundError if absent."""
        with self._translate("read", rel):
            return _timestamp(self._fs.info(self._path(rel), refresh=True))

    def freshen(self, rel: str) -> bool:
        """Mark an object as just used, for gc's grace period: a copy onto itself sets its LastModified.

        False if it is gone (gc may just have removed it): the caller writes it again.
        """
        bucket, key, _ = self._fs.split_path(self._path(rel))
        try:
            self._fs.call_s3(
                "copy_object", Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                MetadataDirective="REPLACE", Metadata={"wfnb-used": str(time.time())},
            )
        except FileNotFoundError:
            return False
        except Exception:  # noqa: BLE001 - best effort, as on a disk: a store we cannot write, gc cannot clean either
            pass
        return True

    def retire(self, rel: str, cutoff: float) -> bool:
        """Delete ``rel`` unless it was written or freshened after ``cutoff``; True if it was deleted.

        There is no rename to decide on atomically, as on a disk: its time is read just before the
        delete, which names the version read (``IfMatch``). A writer that freshens it in between
        (a window of one request) finds it missing the next time it is read, and recomputes it.
        """
        path = self._path(rel)
        with self._translate("delete", rel):
            try:
                info = self._fs.info(path, refresh=True)
            except FileNotFoundError:
                return False
            if _timestamp(info) > cutoff:
                return False
            etag = info.get("ETag")
            try:
                self._s3("delete_object", rel, **({"IfMatch": etag} if etag else {}))
            except FileNotFoundError:
                return False
            except Exception as err:  # classified below
                if is_conflict(err):
                    return False  # rewritten meanwhile
                raise
        return True  # its cached copy goes with the others in prune_cache

    def prune_cache(self, keep: Iterable[str]) -> int:
        """Remove the cached copies of objects not in ``keep`` (relative paths); return the bytes freed."""
        wanted = set(keep)
        freed = 0
        top = self._cache / OBJECTS
        for path in sorted(top.rglob("*")) if top.is_dir() else []:
            rel = path.relative_to(self._cache).as_posix()
            if path.is_file() and rel not in wanted:
                try:
                    size = path.stat().st_size
                    path.unlink()
                    freed += size
                except FileNotFoundError:
                    continue
        return freed

    @property
    def cache_root(self) -> Path:
        """Where this store's objects are cached on this machine."""
        return self._cache

    def usage(self, top: str) -> int:
        """Total size in bytes of the files under ``top``."""
        with self._translate("list", top):
            return sum(int(info["size"]) for info in self._fs.find(self._path(top), detail=True).values())

    @contextlib.contextmanager
    def fresh_reads(self) -> Iterator[None]:
        """Within this block, read from the bucket, never from the cache (``verify`` checks the real bytes)."""
        before, self._fresh = self._fresh, True
        try:
            yield
        finally:
            self._fresh = before

    # ----- writing
    def refuse_foreign(self, names: Iterable[str]) -> None:
        """Refuse to create a store under a prefix that already holds other files."""
        allowed = set(names)
        with self._translate("list", ""):
            try:
                found = self._fs.ls(self._base, detail=False)
            except FileNotFoundError:
                return
        foreign = sorted({p.rstrip("/").rsplit("/", 1)[-1] for p in found} - allowed)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
            raise StoreError(
                f"The location {self.root} is not a wfnb store (it has no FORMAT file) and is not empty (it holds "
                f"{shown}). Choose a new or empty prefix, so that wfnb never mixes its files with yours."
            )

    def make_dirs(self, names: Iterable[str]) -> None:
        """Object storage has no directories; only the local cache needs some."""
        self._cache_tmp()

    def write(self, rel: str, chunks: Iterable[object], *, durable: bool = False) -> int:
        """Write ``rel`` whole: write-once files with a conditional put (0 if it exists), others by compare-and-swap."""
        if rel.startswith(_WRITE_ONCE):
            return self._put_new(rel, chunks)
        data = b"".join(bytes(c) for c in chunks)  # type: ignore[call-overload]  # bytes-like chunks (bytes, memoryview)
        self._swap(rel, data)
        return len(data)

    def create(self, rel: str, chunks: Iterable[object]) -> bool:
        """Write a new file at ``rel`` only if none exists there; False if one does."""
        data = b"".join(bytes(c) for c in chunks)  # type: ignore[call-overload]  # bytes-like chunks (bytes, memoryview)
        with self._translate("write", rel):
            try:
                self._s3("put_object", rel, Body=data, IfNoneMatch="*")
            except FileNotFoundError as err:
                raise no_bucket(self.root, err) from None
            except Exception as err:  # classified below
                if is_conflict(err):
                    return False
                raise
        return True

    def delete(self, rel: str) -> bool:
        """Remove the file at ``rel``; False if it was not there."""
        with self._translate("delete", rel):
            if not self._fs.isfile(self._path(rel)):
                return False
            self._s3("delete_object", rel)
        return True

    def probe(self) -> None:
        """Write and delete a file under ``tmp/``, to report missing write access at open time."""
        rel = f"{TMP}/{self._tmp_name()}"
        with self._translate("write a test file in", rel):
            try:
                self._s3("put_object", rel, Body=b"")
            except FileNotFoundError as err:
                raise no_bucket(self.root, err) from None
            self._s3("delete_object", rel)

    def quarantine(self, rel: str, opened: BinaryIO | None = None) -> str | None:
        """Move a bad file to ``corrupt/`` (copy, then delete only the version that was read).

        If ``opened`` is the cached copy, the damage may be local: the copy is
        dropped and the bucket's version is compared with it first; only if it
        is the same bad content is it moved. None if nothing was moved.
        """
        etag = self._etags.pop(rel, None)
        cached = self._cache / rel
        if opened is not None and rel.startswith(OBJECTS + "/") and _same_file(opened, cached):
            bad = _digest_of(opened)
            _unlink_quietly(cached)
            try:
                with self.fresh_reads(), self.open_read(rel) as fresh:
                    if _digest_of(fresh) != bad:
                        return None  # only the local copy was damaged; the next read downloads again
            except FileNotFoundError:
                return None
            etag = self._etags.pop(rel, None)
        target = f"{CORRUPT}/{rel.replace('/', '-')}-{time.time_ns()}"
        with self._translate("move a corrupt file out of", rel):
            try:
                self._fs.copy(self._path(rel), self._path(target))
                self._s3("delete_object", rel, **({"IfMatch": etag} if etag else {}))
            except FileNotFoundError:
                return None
            except Exception as err:  # classified below
                if is_conflict(err):
                    return None  # rewritten meanwhile by another writer: keep the new one
                raise
        return target

    def sync(self) -> None:
        """Nothing to do: a completed S3 put is already durable."""

    def clean_tmp(self) -> int:
        """Remove stale files of the local cache, and abort multipart uploads abandoned over a day ago."""
        return remove_stale_tmp(self._cache_tmp()) + self._abort_stale_uploads(time.time())

    # ----- errors
    def error(self, err: BaseException, action: str, rel: str | None = None) -> StoreError:
        """Turn an exception of the file system or its client into a StoreError that says what to do."""
        return describe_error(self.root, err, action, rel)

    # ----- internals
    def _path(self, rel: str) -> str:
        return f"{self._base}/{rel}"

    def _s3(self, method: str, rel: str, **kwargs: Any) -> Any:
        bucket, key, _ = self._fs.split_path(self._path(rel))
        return self._fs.call_s3(method, Bucket=bucket, Key=key, **kwargs)

    def _tmp_name(self) -> str:
        return f"{_HOST}-{os.getpid()}-{secrets.token_hex(8)}"

    def _cache_tmp(self) -> Path:
        tmp = self._cache / TMP
        try:
            tmp.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self.error(err, f"create the local cache directory {tmp} for") from err
        return tmp

    @contextlib.contextmanager
    def _translate(self, action: str, rel: str) -> Iterator[None]:
        """Let FileNotFoundError and our own errors through; anything else becomes one StoreError."""
        try:
            yield
        except (FileNotFoundError, StoreError):
            raise
        except Exception as err:  # network, credentials, client errors of every kind
            raise self.error(err, action, rel) from err

    def _copy_to(self, rel: str, target: BinaryIO) -> str:
        """Stream ``rel`` into ``target``; return the ETag of the version read (all ranges of one version)."""
        with self._translate("read", rel):
            with self._fs.open(self._path(rel), "rb", block_size=_CHUNK, cache_type="none") as source:
                etag = str(source.details.get("ETag", ""))
                shutil.copyfileobj(source, target, _CHUNK)
        return etag

    def _download(self, rel: str, cached: Path) -> None:
        """Put a copy of object ``rel`` into the cache: written to the cache's tmp/, then renamed."""
        tmp = self._cache_tmp() / self._tmp_name()
        try:
            try:
                handle = open(tmp, "xb")
            except OSError as err:
                raise self.error(err, "cache", rel) from err
            with handle:
                self._copy_to(rel, handle)  # FileNotFoundError: no such object in the bucket
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, cached)
            except OSError as err:
                raise self.error(err, "cache", rel) from err
        finally:
            _unlink_quietly(tmp)

    def _put_new(self, rel: str, chunks: Iterable[object]) -> int:
        """Upload a write-once file with ``IfNoneMatch``; objects go through (and stay in) the cache."""
        tmp = self._cache_tmp() / self._tmp_name()
        written = 0
        try:
            try:
                with open(tmp, "xb") as handle:
                    for chunk in chunks:
                        written += handle.write(chunk)  # type: ignore[arg-type]  # bytes-like chunks (bytes, memoryview)
            except OSError as err:
                raise self.error(err, "stage", rel) from err
            with self._translate("write", rel):
                try:
                    self._fs.put_file(str(tmp), self._path(rel), mode="create")
                except FileNotFoundError as err:
                    raise no_bucket(self.root, err) from None
                except Exception as err:  # classified below
                    if not is_conflict(err):
                        raise
                    written = 0  # another writer stored this name first: same name, same content
            if rel.startswith(OBJECTS + "/"):
                cached = self._cache / rel
                cached.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, cached)
        finally:
            _unlink_quietly(tmp)
        return written

    def _swap(self, rel: str, data: bytes) -> None:
        """Replace ``rel`` by compare-and-swap on its ETag, retrying when another writer got in between."""
        path = self._path(rel)
        for attempt in range(_CAS_TRIES):
            with self._translate("write", rel):
                try:
                    etag = self._fs.info(path, refresh=True).get("ETag")
                except FileNotFoundError:
                    etag = None
                condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
                try:
                    self._s3("put_object", rel, Body=data, **condition)
                    return
                except FileNotFoundError as err:
                    if etag is None:
                        raise no_bucket(self.root, err) from None
                    # deleted since we looked: try again as a new file
                except Exception as err:  # classified below
                    if not is_conflict(err):
                        raise
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise StoreError(
            f"Could not replace {self.root}/{rel}: other writers changed it {_CAS_TRIES} times in a row while this "
            "one tried. Try again; if it persists, fewer processes should write this store at once."
        )

    def _abort_stale_uploads(self, now: float) -> int:
        """Abort multipart uploads under the prefix older than a day (a writer killed mid-upload)."""
        bucket, prefix, _ = self._fs.split_path(self._base + "/")
        try:
            listing = self._fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix)
        except Exception:  # noqa: BLE001 - best effort: a store without this permission still works
            return 0
        aborted = 0
        for upload in listing.get("Uploads", []):
            started = upload.get("Initiated")
            if started is None or now - started.timestamp() < _TMP_MAX_AGE_S:
                continue
            with contextlib.suppress(Exception):
                self._fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
        return aborted


def open_remote(url: str) -> RemoteFiles:
    """The files of the remote store at ``url``, with the storage options and cache in force (``wfnb.store.settings``)."""
    from wfnb.store import settings

    return open_files(url, settings.storage_options(), settings.cache_dir())


def open_files(url: str, storage_options: dict[str, Any], cache_root: Path) -> RemoteFiles:
    """The ``RemoteFiles`` of ``url``; refuses protocols whose conditional writes wfnb cannot rely on."""
    protocol = url.split("://", 1)[0].lower()
    if protocol not in _PROTOCOLS:
        raise StoreError(
            f"The store location {url!r} uses {protocol}://, but wfnb stores only work on local directories and "
            "S3 (s3://bucket/prefix, also S3-compatible servers given an endpoint_url): sharing a store safely needs "
            "conditional writes (If-None-Match, If-Match) that wfnb relies on. Use a local path or an s3:// URL."
        )
    try:
        import fsspec
        import s3fs  # noqa: F401 - fsspec's s3:// needs it: a missing one is said here, plainly
    except ImportError:
        raise StoreError(missing_s3fs(url)) from None
    options = {**storage_options, "use_listings_cache": False, "skip_instance_cache": True}
    try:
        fs, base = fsspec.core.url_to_fs(url, **options)
    except Exception as err:  # bad options surface here in many forms
        raise StoreError(
            f"Could not set up the file system for {url!r} ({type(err).__name__}: {err}). Check storage_options "
            "(wfnb.configure or WFNB_STORAGE_OPTIONS)."
        ) from err
    base = base.strip("/")
    if not base:
        raise StoreError(f"The store location {url!r} names no bucket. Use s3://BUCKET/PREFIX.")
    endpoint = str((options.get("client_kwargs") or {}).get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3", ""))
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base)[:80]
    cache = cache_root / f"{slug}-{xxhash.xxh3_64_hexdigest(f'{protocol}://{base}|{endpoint}'.encode())[:12]}"
    return RemoteFiles(f"{protocol}://{base}", fs, base, cache)


def _timestamp(info: dict[str, Any]) -> float:
    """A listing's or head's LastModified as seconds since the epoch (now, if the server gave none)."""
    moment: Any = info.get("LastModified") or info.get("last_modified")
    if hasattr(moment, "timestamp"):
        return float(moment.timestamp())
    return time.time()


def _same_file(opened: BinaryIO, path: Path) -> bool:
    try:
        now, then = os.stat(path), os.fstat(opened.fileno())
    except (OSError, ValueError):
        return False
    return (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino)


def _digest_of(handle: BinaryIO) -> str:
    digest = xxhash.xxh3_128()
    handle.seek(0)
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
