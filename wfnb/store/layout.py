"""Where each kind of file lives inside a store, and the FORMAT file that pins it.

Every path the store touches is built here from a validated name, so nothing a
caller passes (``../x``, an absolute path, a NUL byte) can reach outside the
store's root. Paths are relative POSIX strings: the same names work for a local
directory today and for an object-store prefix (fsspec) later.
"""

from __future__ import annotations

import json
import re
import time

from wfnb.errors import StoreError

STORE_FORMAT_VERSION = 1  # bump on any on-disk change; see tests/data/

FORMAT_FILE = "FORMAT"
OBJECTS = "objects"
RECORDS = "records"
RUNS = "runs"
REFS = "refs"
TMP = "tmp"
CORRUPT = "corrupt"
DIRECTORIES = (TMP, OBJECTS, RECORDS, RUNS, REFS, CORRUPT)  # tmp first: FORMAT is written through it

_DIGEST = re.compile(r"[0-9a-f]{32}")
_RUN_FILE = re.compile(r"[0-9]{8}/[0-9]+-[0-9]+-[0-9a-f]+\.json")


def check_digest(digest: object, what: str = "object name") -> str:
    """Return ``digest`` if it is exactly 32 lowercase hex characters, else raise.

    Digests become file names, so this is what keeps callers inside the root (the names people
    give, of steps, workflows and tags, are checked by ``wfnb.errors.check_name``).
    """
    if isinstance(digest, str) and _DIGEST.fullmatch(digest):
        return digest
    raise StoreError(
        f"The {what} {digest!r} is not valid: store names are exactly 32 lowercase hexadecimal "
        "characters (an xxh3-128 digest), so that no name can point outside the store. "
        "Pass the digest as produced by wfnb's hashing, not a path or a label."
    )


def object_path(digest: str) -> str:
    """``objects/ab/cdef…``: two hex characters of fan-out keep directories small."""
    check_digest(digest)
    return f"{OBJECTS}/{digest[:2]}/{digest[2:]}"


def record_path(key: str) -> str:
    """``records/ab/<key>.json``: the full key in the name keeps records greppable."""
    check_digest(key, "record key")
    return f"{RECORDS}/{key[:2]}/{key}.json"


def run_path(time_ns: int, pid: int, token: str) -> str:
    """``runs/<YYYYMMDD>/<time_ns>-<pid>-<token>.json``, dated in UTC."""
    day = time.strftime("%Y%m%d", time.gmtime(time_ns / 1e9))
    return f"{RUNS}/{day}/{time_ns}-{pid}-{token}.json"


def digest_of_object_path(rel: str) -> str | None:
    """The digest named by a path under ``objects/``, or None for a stray file."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != OBJECTS:
        return None
    digest = parts[1] + parts[2]
    if len(parts[1]) != 2 or not _DIGEST.fullmatch(digest):
        return None
    return digest


def key_of_record_path(rel: str) -> str | None:
    """The key named by a path under ``records/``, or None for a stray file."""
    parts = rel.split("/")
    if len(parts) != 3 or parts[0] != RECORDS or not parts[2].endswith(".json"):
        return None
    key = parts[2][: -len(".json")]
    if not _DIGEST.fullmatch(key) or parts[1] != key[:2]:
        return None
    return key


def is_run_path(rel: str) -> bool:
    """True for a well-formed path of a run-log entry."""
    return rel.startswith(RUNS + "/") and bool(_RUN_FILE.fullmatch(rel[len(RUNS) + 1 :]))


def format_bytes() -> bytes:
    """The content of a new store's FORMAT file."""
    return (json.dumps({"store_format": STORE_FORMAT_VERSION}) + "\n").encode()


def check_format(raw: bytes, where: str) -> None:
    """Raise StoreError unless ``raw`` is a FORMAT file this version can read.

    A store written by a newer wfnb may use objects this one would misread, and
    garbage means the directory is not (or no longer) a store: both stop here.
    """
    try:
        found = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        found = None
    version = found.get("store_format") if isinstance(found, dict) else None
    if version == STORE_FORMAT_VERSION and type(version) is int:
        return
    if type(version) is int and version > STORE_FORMAT_VERSION:
        raise StoreError(
            f"The store at {where} has format version {version}, but this wfnb reads only "
            f"version {STORE_FORMAT_VERSION}: it was written by a newer wfnb. Upgrade wfnb "
            "(pip install -U wfnb), or choose another store with WFNB_STORE."
        )
    shown = raw[:80].decode("utf-8", "replace")
    raise StoreError(
        f"The store at {where} has a FORMAT file containing {shown!r}, which is not "
        f'{{"store_format": {STORE_FORMAT_VERSION}}}. If this directory is not a wfnb store, '
        "choose another location with WFNB_STORE; if it is one written by an older wfnb, "
        "recreate it (delete the directory; steps are recomputed)."
    )
