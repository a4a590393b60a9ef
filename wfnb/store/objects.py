"""The on-disk formats: blobs (objects) and checksummed JSON documents (records, runs).

A blob is self-verifying, so that a flipped bit, a truncated copy or a file
of zeros is caught before any byte of it is decoded (let alone unpickled)::

    offset 0   8 bytes   magic  b"WFNB\\x00OB1"
           8   u32 LE    header length H
          12   u64 LE    xxh3-64 of the header bytes
          20   H bytes   header: UTF-8 JSON {"codec", "meta", "payload_size", "payload_xxh3_128"}
               zeros     up to the next multiple of 64
           P   payload   payload_size bytes, exactly to the end of the file

Records and run-log entries are small JSON files wrapped in an envelope that
names them and carries an xxh3-128 of their canonical JSON, so that they stay
readable with any tool and are still verified on every read.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import xxhash

from wfnb.errors import UnstorableValue
from wfnb.store.codecs import ALIGN, CODECS, Encoded, aligned_buffer

MAGIC = b"WFNB\x00OB1"
_PREFIX = struct.Struct("<8sIQ")  # magic, header length, xxh3-64 of the header
_MAX_HEADER = 1 << 24  # no real header comes close; guards against allocating garbage sizes
_CHUNK = 8 << 20  # read and hash in cache-friendly pieces
_ZEROS = bytes(ALIGN)

DocumentKind = Literal["record", "run", "ref"]


class Damaged(Exception):
    """A file's bytes do not match its own checksums or format (internal; becomes CorruptObject)."""


@dataclass(frozen=True)
class Header:
    """What the header of a blob says, plus where its payload starts."""

    codec: str
    meta: dict[str, Any]
    payload_size: int
    payload_xxh3_128: str
    payload_offset: int


# ----- blobs
def frame(encoded: Encoded) -> list[Any]:
    """The chunks of a blob file for ``encoded``: prefix, header and padding, then the payload.

    The payload is hashed first (a fast pass over memory) so that the header
    can precede it; nothing is copied.
    """
    return [_head(encoded, _payload_digest(encoded.parts)), *encoded.parts]


def frame_concurrently(encoded: Encoded) -> tuple[list[Any], Callable[[], bytes]]:
    """The chunks of a blob whose payload checksum is computed on a second thread while they are written.

    The first chunk is the head with a placeholder checksum; ``head()`` waits for the
    thread and returns the real head, of the same length, to be written over it
    before the file becomes visible. xxhash releases the GIL on big buffers, so on
    a second core the checksum costs the write nothing (the write alone is as long
    as ``np.save``'s). The file is byte for byte what ``frame`` gives.
    """
    outcome: list[Any] = []

    def checksum() -> None:
        try:
            outcome.append(_payload_digest(encoded.parts))
        except BaseException as err:  # noqa: BLE001 - handed to the writer's thread by head()
            outcome.append(err)

    worker = threading.Thread(target=checksum, name="wfnb-payload-checksum", daemon=True)
    worker.start()
    placeholder = _head(encoded, "0" * 32)

    def head() -> bytes:
        worker.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        final = _head(encoded, outcome[0])
        if len(final) != len(placeholder):  # an xxh3-128 hex digest is always 32 characters
            raise RuntimeError("the blob's head changed length after its checksum was filled in")
        return final

    return [placeholder, *encoded.parts], head


def _payload_digest(parts: tuple[Any, ...]) -> str:
    digest = xxhash.xxh3_128()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _head(encoded: Encoded, payload_digest: str) -> bytes:
    """Prefix, header and zero padding up to the payload's aligned start."""
    header = json.dumps(
        {
            "codec": encoded.codec,
            "meta": encoded.meta,
            "payload_size": encoded.payload_size,
            "payload_xxh3_128": payload_digest,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    ).encode("ascii")
    head = _PREFIX.pack(MAGIC, len(header), xxhash.xxh3_64_intdigest(header)) + header
    return head + _ZEROS[: -len(head) % ALIGN]


def read_header(f: BinaryIO) -> Header:
    """Read and check everything before the payload; leave ``f`` at the payload's start.

    Checks the magic, the header's own checksum, its fields, the zero padding
    and that the file is exactly as long as the header says.
    """
    file_size = _file_size(f)
    prefix = _read_exactly(f, _PREFIX.size, "prefix")
    magic, length, header_hash = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise Damaged(f"bad magic {magic!r}, expected {MAGIC!r}")
    if length > _MAX_HEADER:
        raise Damaged(f"header length {length} is implausible")
    raw = _read_exactly(f, length, "header")
    if xxhash.xxh3_64_intdigest(raw) != header_hash:
        raise Damaged("header checksum mismatch")
    try:
        fields = json.loads(raw.decode("ascii"))
        header = Header(
            codec=fields["codec"],
            meta=fields["meta"],
            payload_size=fields["payload_size"],
            payload_xxh3_128=fields["payload_xxh3_128"],
            payload_offset=_PREFIX.size + length + (-(_PREFIX.size + length) % ALIGN),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise Damaged(f"unreadable header ({err})") from None
    if (
        not isinstance(header.codec, str)
        or not isinstance(header.meta, dict)
        or type(header.payload_size) is not int
        or header.payload_size < 0
        or not isinstance(header.payload_xxh3_128, str)
    ):
        raise Damaged("header fields have the wrong types")
    padding = _read_exactly(f, header.payload_offset - _PREFIX.size - length, "padding")
    if padding.count(0) != len(padding):
        raise Damaged("non-zero padding after the header")
    expected = header.payload_offset + header.payload_size
    if file_size != expected:
        raise Damaged(f"file has {file_size} bytes, its header says {expected} (truncated or extended)")
    return header


def read_payload(f: BinaryIO, header: Header) -> Any:
    """Read the payload into one aligned, writable buffer and check its checksum."""
    buf = payload_buffer(header)
    view = memoryview(buf)
    digest = xxhash.xxh3_128()
    pos = 0
    while pos < len(view):
        got = f.readinto(view[pos : min(len(view), pos + _CHUNK)])  # type: ignore[attr-defined]  # the backends open FileIO, BufferedReader or a temporary file: all have it
        if not got:
            raise Damaged(f"payload ends after {pos} of {len(view)} bytes")
        digest.update(view[pos : pos + got])
        pos += got
    _check_digest(digest, header)
    return buf


def payload_buffer(header: Header) -> Any:
    """A writable buffer for the payload: numpy's aligned one, unless the value is a pickle of plain
    Python objects (no out-of-band buffers) and numpy is not loaded yet, where a ``bytearray`` does
    the same job without importing numpy on a first cache hit."""
    if header.codec in ("json", "pickle") and not header.meta.get("buffers") and "numpy" not in sys.modules:
        return bytearray(header.payload_size)
    return aligned_buffer(header.payload_size)


def check_payload(f: BinaryIO, header: Header) -> None:
    """Check the payload's checksum, reading it through a small reused buffer."""
    scratch = memoryview(bytearray(min(_CHUNK, max(header.payload_size, 1))))
    digest = xxhash.xxh3_128()
    left = header.payload_size
    while left:
        got = f.readinto(scratch[: min(left, len(scratch))])  # type: ignore[attr-defined]  # the backends open FileIO, BufferedReader or a temporary file: all have it
        if not got:
            raise Damaged(f"payload ends {left} bytes early")
        digest.update(scratch[:got])
        left -= got
    _check_digest(digest, header)


def check_codec(header: Header) -> None:
    """Raise Damaged if the header names no codec this version knows."""
    if header.codec not in CODECS:
        raise Damaged(f"unknown codec {header.codec!r}")


# ----- documents
def canonical_json(data: object) -> bytes:
    """The one byte string that names a JSON value: sorted keys, no spaces, ASCII."""
    return _dumps(data, sort_keys=True, separators=(",", ":")).encode("ascii")


def pack_document(kind: DocumentKind, name: str, data: dict[str, Any]) -> bytes:
    """A record or run entry as an envelope: kind, name, checksum, data."""
    if not isinstance(data, dict):
        raise UnstorableValue(
            f"A {kind} must be a dict, but a {type(data).__name__!r} was given. "
            "Pass the record as a plain JSON dict."
        )
    normal = json.loads(_dumps(data))  # what a reader will see: tuples are lists, keys str
    envelope = {"kind": kind, "name": name, "xxh3_128": _document_digest(normal), "data": normal}
    return (json.dumps(envelope, ensure_ascii=True, allow_nan=True) + "\n").encode("ascii")


def unpack_document(kind: DocumentKind, name: str, raw: bytes) -> dict[str, Any]:
    """The data of an envelope, after checking its kind, name and checksum."""
    try:
        envelope = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        raise Damaged(f"not valid JSON ({err})") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise Damaged(f"not a {kind} envelope")
    if envelope.get("kind") != kind or envelope.get("name") != name:
        raise Damaged(f"envelope says {envelope.get('kind')!r} {envelope.get('name')!r}, expected {kind!r} {name!r}")
    if envelope.get("xxh3_128") != _document_digest(envelope["data"]):
        raise Damaged("checksum mismatch")
    return envelope["data"]


# ----- internals
def _dumps(data: object, **options: Any) -> str:
    try:
        return json.dumps(data, ensure_ascii=True, allow_nan=True, **options)
    except (TypeError, ValueError, RecursionError) as err:
        raise UnstorableValue(
            f"A value of type {type(data).__name__!r} cannot be stored as JSON: {err}. "
            "Records, run-log entries and JSON blobs must be plain JSON data "
            "(dict with str keys, list, str, int, float, bool, None)."
        ) from None


def _document_digest(data: object) -> str:
    return xxhash.xxh3_128_hexdigest(canonical_json(data))


def _check_digest(digest: Any, header: Header) -> None:
    if digest.hexdigest() != header.payload_xxh3_128:
        raise Damaged("payload checksum mismatch")


def _file_size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size


def _read_exactly(f: BinaryIO, size: int, what: str) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = f.read(size - len(data))
        if not chunk:
            raise Damaged(f"file ends inside the {what}")
        data += chunk
    return bytes(data)
