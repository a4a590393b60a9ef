"""The store: write-once objects, step records as commit points, and the run log.

A step's outputs are written as objects first (no sync each), then its record
is committed: one filesystem sync makes every earlier object durable, and only
then does the record appear under its key. So a record never names an object
that a crash could have lost, and a crash at any moment leaves the store
consistent: at worst some unreferenced objects, or a stray file in ``tmp/``.

Everything read is verified before it is used. A damaged file is moved to
``corrupt/`` and reported as ``CorruptObject``, so that the caller recomputes
it and the next write of that name is not skipped because a bad file exists.
"""

from __future__ import annotations

import os
import secrets
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import xxhash

from wfnb.errors import CorruptObject, StoreError
from wfnb.store import codecs, runlog
from wfnb.store.backend import Backend
from wfnb.store.codecs import Encoded
from wfnb.store.layout import (
    OBJECTS,
    RECORDS,
    REFS,
    RUNS,
    digest_of_object_path,
    is_run_path,
    key_of_record_path,
    object_path,
    record_path,
    run_path,
)
from wfnb.store.localfs import LocalFiles, read_if_present, set_aside
from wfnb.store.objects import (
    Damaged,
    DocumentKind,
    Header,
    canonical_json,
    check_payload,
    frame,
    frame_concurrently,
    pack_document,
    payload_buffer,
    read_header,
    read_payload,
    unpack_document,
)
from wfnb.store.refs import Refs

# Small objects keep their verified bytes in memory once read: a step's graph object (its small outputs)
# is read again by every hit, and opening its file was the largest part of a trivial hit on a busy disk.
# An object's bytes never change (its name is their hash), so the copy is the object; it is decoded
# anew from a fresh buffer each time, so no two reads share a value.
KEPT_OBJECT_BYTES = 64 << 10  # larger values are leaves of their own (LEAF_MIN_BYTES): never kept
KEPT_TOTAL_BYTES = 8 << 20  # per store, least recently read dropped first

# Payloads this big get their checksum on a second thread while they are written: the
# thread's start (~0.1 ms) is nothing next to the pass over memory it takes off the write.
_CONCURRENT_CHECKSUM_MIN = 16 << 20


class UnloadableObject(CorruptObject):
    """An intact object that cannot be decoded here: a pickled class or module is gone.

    Not quarantined (another session may load it), but like ``CorruptObject``
    it means "recompute", so code that catches ``CorruptObject`` handles both.
    """


@dataclass(frozen=True)
class VerifyReport:
    """What ``Store.verify`` checked, and each problem as (path in the store, reason)."""

    checked: int
    problems: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        """True if no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line per problem, then the verdict: what ``wfnb verify`` prints."""
        lines = [f"problem: {path}: {reason}" for path, reason in self.problems]
        verdict = "clean" if self.ok else f"{len(self.problems)} problem{'s' if len(self.problems) > 1 else ''} (each line above says what to do)"
        return "\n".join([*lines, f"checked {self.checked} files: {verdict}"])


class Store:
    """A wfnb store, in a local directory or a bucket (its ``Backend``); create it with ``open_store``."""

    def __init__(self, root: Path | str, files: Backend) -> None:
        self.root = root
        self._files = files
        self.refs = Refs(files)
        self._run_failure: StoreError | None = None  # a run-log entry the background writer could not write
        self._kept: OrderedDict[str, tuple[Header, bytes]] = OrderedDict()  # small objects' verified bytes
        self._kept_size = 0

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def read_only(self) -> bool:
        """True if this store was opened to read only: nothing in it changes (see ``open_store``)."""
        return self._files.read_only

    # ----- objects
    def encode(self, value: object) -> Encoded:
        """Encode a value for ``put_object``; raises UnstorableValue if it cannot be stored."""
        return codecs.encode(value)

    def has_object(self, digest: str, *, freshen: bool = True) -> bool:
        """True if an object file of that name exists (its content is checked on read).

        A writer asks this before relying on an object it will name in a record,
        so an existing object is freshened: ``gc`` keeps it for its grace period.
        A reader that only checks (``freshen=False``) changes nothing.
        """
        rel = object_path(digest)
        return self._files.exists(rel) and (not freshen or self._freshen(rel))

    def put_object(self, digest: str, encoded: Encoded) -> int:
        """Write an object under ``digest``; return the bytes written, 0 if it already exists.

        Objects are write-once and named by their content, so an existing one
        is kept, unless its header or length shows it is damaged: then it is
        quarantined and rewritten. Not synced: ``commit_record`` makes it durable.
        """
        rel = object_path(digest)
        try:
            with self._files.open_read(rel) as f:
                try:
                    read_header(f)  # cheap: a truncated or zero-filled file fails here
                    if self._freshen(rel):  # about to be named by a record: gc's grace counts from now
                        return 0
                except Damaged:
                    self._files.quarantine(rel, f)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise self._files.error(err, "read", rel) from err
        if encoded.payload_size >= _CONCURRENT_CHECKSUM_MIN and isinstance(self._files, LocalFiles):
            chunks, head = frame_concurrently(encoded)
            return self._files.write(rel, chunks, head=head)
        return self._files.write(rel, frame(encoded))

    def get_object(self, digest: str, *, lazy: bool = False) -> object:
        """Read, verify and decode an object.

        With ``lazy=True``, an array (the ``ndarray`` codec) is not read at all: it
        comes back at once as a copy-on-write memory map of the object's file, and
        its pages are read when first touched. Writing to it changes the array,
        never the store. Only the header and the file's length are checked then,
        not the payload's checksum, which would mean reading every byte: damage
        inside the payload is found by ``verify()``, not by this read. Other
        codecs are read and verified as usual.

        Raises
        ------
        CorruptObject
            If the object is missing or damaged (it is then moved to ``corrupt/``),
            or if decoding plain data (json, ndarray) fails.
        UnloadableObject
            A ``CorruptObject`` for an intact pickle or module that cannot be
            loaded in this session (say, its class was renamed). Not quarantined.
        """
        if lazy:
            mapped = self._map_array(digest)
            if mapped is not None:
                return mapped
        header, payload = self._read_kept(digest)
        if header.codec not in codecs.CODECS:
            raise UnloadableObject(
                f"Object {digest} in the store at {self.root} uses the codec {header.codec!r}, "
                "which this wfnb does not know: it was written by a newer wfnb. Upgrade wfnb, "
                "or let the step be recomputed."
            )
        try:
            return codecs.decode(header.codec, header.meta, payload)
        except Exception as err:  # unpickling can raise anything
            reason = f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
            if header.codec in codecs.ENVIRONMENT_DEPENDENT:
                what = header.meta.get("type") or header.meta.get("name") or header.codec
                raise UnloadableObject(
                    f"Object {digest} in the store at {self.root} (a {header.codec} of {what!r}) "
                    f"is intact but cannot be loaded in this session ({reason}). Import or define "
                    "what it needs, or let the step be recomputed."
                ) from err
            raise self._corrupt(OBJECTS, object_path(digest), digest, f"cannot be decoded ({reason})") from err

    def object_size(self, digest: str) -> int:
        """Size of the object's file in bytes (header included)."""
        rel = object_path(digest)
        try:
            return self._files.size(rel)
        except FileNotFoundError:
            raise self._missing(digest) from None
        except OSError as err:
            raise self._files.error(err, "read", rel) from err

    def put_json(self, data: Any) -> str:
        """Store plain JSON data as a content-addressed blob; return its digest.

        The digest is the xxh3-128 of the canonical JSON bytes (sorted keys), so
        equal data is stored once and the name can be checked against the content.
        """
        payload = canonical_json(data)
        digest = xxhash.xxh3_128_hexdigest(payload)
        self.put_object(digest, Encoded("json", {"canonical": True}, (payload,)))
        return digest

    def get_json(self, digest: str) -> Any:
        """Load a blob written by ``put_json`` (dict keys come back sorted)."""
        header, payload = self._read_object(digest)
        if header.codec != "json" or not header.meta.get("canonical"):
            raise StoreError(
                f"Object {digest} in the store at {self.root} is not a JSON blob (its codec is "
                f"{header.codec!r}). Use get_object for values, get_json only for put_json digests."
            )
        return codecs.decode("json", header.meta, payload)

    # ----- records
    def read_record(self, key: str) -> dict[str, Any] | None:
        """The record committed under ``key``, or None if there is none."""
        rel = record_path(key)
        raw = read_if_present(self._files, rel)
        if raw is None:
            return None
        try:
            return unpack_document("record", key, raw)
        except Damaged as err:
            raise self._corrupt(RECORDS, rel, key, str(err)) from None

    def commit_record(self, key: str, record: dict[str, Any]) -> None:
        """Commit a step: make every object written so far durable, then publish the record.

        One filesystem sync (``syncfs``) runs between writing the record and
        renaming it into place, so the record is visible only once all the
        objects it names are on disk. ``WFNB_FSYNC=0`` skips the sync (fast;
        a power failure may then lose recent steps, which are recomputed).
        """
        rel = record_path(key)
        self._files.write(rel, [pack_document("record", key, record)], durable=fsync_enabled())

    # ----- run log
    def log_run(self, entry: dict[str, Any]) -> None:
        """Append an entry to the run log: one write-once file, no sync, written by a background
        thread (``wfnb.store.runlog``) that this process's readers and its exit wait for."""
        now = time.time_ns()
        rel = run_path(now, os.getpid(), secrets.token_hex(4))
        if not self._files.background_writes:
            self._files.write(rel, [pack_document("run", _stem(rel), entry)])
            return
        runlog.submit(lambda: self._write_run(rel, entry))  # the caller hands the entry over: packed on the writer's thread
        failure, self._run_failure = self._run_failure, None
        if failure is not None:  # an earlier entry's: said now, as the next step logs its run
            raise failure

    def _write_run(self, rel: str, entry: dict[str, Any]) -> None:
        try:
            self._files.write(rel, [pack_document("run", _stem(rel), entry)])
        except StoreError as error:
            self._run_failure = error
        except Exception as error:  # noqa: BLE001 - on the writer's thread: kept, said at the next entry
            self._run_failure = StoreError(f"A run-log entry could not be written to {rel} ({type(error).__name__}: {error}).")

    def runs(self) -> list[dict[str, Any]]:
        """All run-log entries, sorted by their ``started`` value, then by write time.

        A damaged entry is quarantined and skipped with a warning: the log is a
        history, and one bad line should not hide the rest.
        """
        runlog.wait()
        found = []
        for rel in self._files.walk(RUNS):
            if not is_run_path(rel):
                continue
            try:
                data = unpack_document("run", _stem(rel), self._files.read_bytes(rel))
            except FileNotFoundError:
                continue
            except OSError as err:
                raise self._files.error(err, "read", rel) from err
            except Damaged as err:
                warnings.warn(f"Skipped the damaged run-log entry {rel} ({err}); it {set_aside(self._files, rel)}.", stacklevel=2)
                continue
            found.append((_started_key(data.get("started")), rel, data))
        found.sort(key=lambda item: (item[0], item[1]))
        return [data for _, _, data in found]

    def recent_runs(self) -> Iterator[dict[str, Any]]:
        """Run-log entries, the last written first, read one at a time (a damaged one is skipped).

        For questions about the latest runs (``wfnb why``): no need to read the whole log.
        """
        runlog.wait()
        names = sorted((rel for rel in self._files.walk(RUNS) if is_run_path(rel)), reverse=True)
        for rel in names:  # runs/<day>/<time_ns>-…: the names sort by the time they were written
            try:
                yield unpack_document("run", _stem(rel), self._files.read_bytes(rel))
            except (FileNotFoundError, Damaged):
                continue
            except OSError as err:
                raise self._files.error(err, "read", rel) from err

    # ----- maintenance
    def verify(self) -> VerifyReport:
        """Check every object, record, run and ref file; quarantine the damaged ones.

        Objects are checked byte for byte (header, padding, length, payload
        checksum, and the name of JSON blobs), without decoding any of them.
        """
        runlog.wait()
        checked = 0
        problems: list[tuple[str, str]] = []
        with self._files.fresh_reads():  # a remote store: check the bucket's bytes, not the local cache
            for top in (OBJECTS, RECORDS, RUNS, REFS):
                for rel in self._files.walk(top):
                    reason = self._check_file(top, rel)
                    if reason == "gone":
                        continue
                    checked += 1
                    if reason:
                        problems.append((rel, reason))
        return VerifyReport(checked, tuple(problems))

    def disk_usage(self) -> int:
        """Bytes used by the files under ``objects/``."""
        return self._files.usage(OBJECTS)

    # ----- internals
    def _freshen(self, rel: str) -> bool:
        """Mark an existing object as just used, for gc's grace period (``wfnb.store.gc``).

        False if gc retired it meanwhile: the caller writes it again. On S3 this
        is a copy of the object onto itself, which sets its LastModified.
        """
        freshen = getattr(self._files, "freshen", None)
        return True if freshen is None else freshen(rel)

    def _open_object(self, digest: str) -> tuple[str, BinaryIO]:
        """An object's path and open file; a missing one is reported as such (its step recomputes)."""
        rel = object_path(digest)
        try:
            return rel, self._files.open_read(rel)
        except FileNotFoundError:
            raise self._missing(digest) from None
        except OSError as err:
            raise self._files.error(err, "read", rel) from err

    def _read_kept(self, digest: str) -> tuple[Header, Any]:
        """``_read_object``, from the verified bytes kept in memory for a small object read before."""
        kept = self._kept.get(digest)
        if kept is not None:
            self._kept.move_to_end(digest)
            header, data = kept
            payload = payload_buffer(header)
            memoryview(payload).cast("B")[:] = data
            return header, payload
        header, payload = self._read_object(digest)
        if header.payload_size <= KEPT_OBJECT_BYTES:
            self._kept[digest] = (header, bytes(memoryview(payload).cast("B")))  # a copy: decoding may hand out views
            self._kept_size += header.payload_size
            while self._kept_size > KEPT_TOTAL_BYTES:
                _, (dropped, _) = self._kept.popitem(last=False)
                self._kept_size -= dropped.payload_size
        return header, payload

    def _read_object(self, digest: str) -> tuple[Header, Any]:
        rel, f = self._open_object(digest)
        with f:
            try:
                header = read_header(f)
                payload = read_payload(f, header)
                if header.meta.get("canonical") and header.payload_xxh3_128 != digest:
                    raise Damaged("its content does not match its name")
            except Damaged as err:
                raise self._corrupt(OBJECTS, rel, digest, str(err), f) from None
            except OSError as err:  # EIO and friends: unreadable is as bad as wrong
                raise self._corrupt(OBJECTS, rel, digest, f"unreadable: {err}", f) from None
        return header, payload

    def _map_array(self, digest: str) -> Any:
        """The array of an ``ndarray`` object as a copy-on-write map of its file; None for other codecs.

        None too for a store that is not a local directory: only a local file can be mapped.
        """
        if not isinstance(self._files, LocalFiles):
            return None
        rel, f = self._open_object(digest)
        with f:
            try:
                header = read_header(f)
            except Damaged as err:
                raise self._corrupt(OBJECTS, rel, digest, str(err), f) from None
            except OSError as err:
                raise self._corrupt(OBJECTS, rel, digest, f"unreadable: {err}", f) from None
            if header.codec != "ndarray" or header.payload_size == 0:
                return None
            try:
                return codecs.map_ndarray(header.meta, f.fileno(), header.payload_offset, header.payload_size)
            except ValueError as err:
                raise self._corrupt(OBJECTS, rel, digest, f"cannot be decoded ({err})", f) from err

    def _check_file(self, top: str, rel: str) -> str | None:
        """None if the file is sound, "gone" if it vanished, else the problem (after quarantine)."""
        try:
            if top == OBJECTS:
                digest = digest_of_object_path(rel)
                if digest is None:
                    return "not an object: its path is not objects/<2 hex>/<30 hex>"
                with self._files.open_read(rel) as f:
                    try:
                        header = read_header(f)
                        check_payload(f, header)
                        if header.meta.get("canonical") and header.payload_xxh3_128 != digest:
                            raise Damaged("its content does not match its name")
                    except (Damaged, OSError) as err:
                        return f"{err}; it {set_aside(self._files, rel, f)}"
                if header.codec not in codecs.CODECS:
                    return f"unknown codec {header.codec!r} (written by a newer wfnb?)"
                return None
            kind: DocumentKind = {RECORDS: "record", RUNS: "run", REFS: "ref"}[top]  # type: ignore[assignment]  # top is one of the three: checked by the loop
            if top == RECORDS:
                name = key_of_record_path(rel)
            elif top == RUNS:
                name = _stem(rel) if is_run_path(rel) else None
            else:
                name = rel[len(REFS) + 1 : -len(".json")] if rel.endswith(".json") else None
            if name is None:
                return f"not a {kind} file: unexpected path"
            try:
                unpack_document(kind, name, self._files.read_bytes(rel))
            except Damaged as err:
                return f"{err}; it {set_aside(self._files, rel)}"
            return None
        except FileNotFoundError:
            return "gone"
        except OSError as err:
            raise self._files.error(err, "read", rel) from err

    def _corrupt(self, top: str, rel: str, name: str, reason: str, opened: BinaryIO | None = None) -> CorruptObject:
        moved = set_aside(self._files, rel, opened)
        what = "Object" if top == OBJECTS else "The record"
        return CorruptObject(
            f"{what} {name} in the store at {self.root} is corrupt ({reason}) and {moved}; "
            "its step must be recomputed."
        )

    def _missing(self, digest: str) -> CorruptObject:
        return CorruptObject(
            f"Object {digest} is missing from the store at {self.root}; its step must be recomputed."
        )


def fsync_enabled() -> bool:
    """Whether commits sync the filesystem: ``WFNB_FSYNC`` is ``1`` (default) or ``0``."""
    value = os.environ.get("WFNB_FSYNC", "1").strip()
    if value in ("1", ""):
        return True
    if value == "0":
        return False
    raise StoreError(
        f"WFNB_FSYNC is set to {value!r}, which is not 0 or 1. Set it to 1 (the default: every "
        "committed step survives a power failure) or 0 (faster; a power failure may lose the "
        "latest steps, which are then recomputed)."
    )


def _started_key(started: object) -> tuple[int, Any]:
    """Sort numbers before strings before anything else, each by value, never comparing across."""
    if type(started) in (int, float) and started == started:
        return (0, started)
    if isinstance(started, str):
        return (1, started)
    return (2, 0)


def _stem(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".json")
