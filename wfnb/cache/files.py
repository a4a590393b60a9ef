"""Content hashes of the files a step depends on, with a stat shortcut that never misses an edit.

Re-reading a large data file on every run would make a hit slow, so a file's
hash is remembered with its stat (size, mtime, ctime, inode). The shortcut is
trusted only when the file was last modified well before it was hashed: an edit
in the same clock tick as the hash (the "racy" case git also guards against)
could otherwise keep the same stat, so such files are hashed again next time.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import xxhash

from wfnb.errors import BadArgument

# The digest of what is not there: a missing file here, and, for the same reason, a name that was
# not defined when a step ran (wfnb.cache.fingerprint, probes, stepvalues). Part of every key: never change it.
ABSENT = "absent"
_RACY_WINDOW_NS = 2_000_000_000  # coarse-timestamp file systems tick in up to 2 s
_CHUNK = 8 << 20


@dataclass(frozen=True)
class _Stat:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


_known: dict[str, tuple[_Stat, str]] = {}


def file_digest(path: str | os.PathLike) -> str:
    """xxh3-128 of a file's bytes, from the stat cache when that is provably safe."""
    real = os.path.realpath(path)
    info = os.stat(real)
    stat = _Stat(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    known = _known.get(real)
    if known is not None and known[0] == stat:
        return known[1]
    hasher = xxhash.xxh3_128()
    with open(real, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    if time.time_ns() - max(stat.mtime_ns, stat.ctime_ns) > _RACY_WINDOW_NS:
        _known[real] = (stat, digest)
    return digest


def literal_files(literals: tuple[str, ...] | list[str]) -> list[str]:
    """The string literals that name an existing regular file (relative to the working directory)."""
    found = []
    for text in literals:
        if _looks_like_path(text):
            try:
                if os.path.isfile(text):
                    found.append(text)
            except (OSError, ValueError):
                continue
    return found


def expand_deps(patterns: list[str]) -> list[str]:
    """Files named by ``--deps``: plain paths, directories (all files below) and glob patterns."""
    files: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise BadArgument(
                    f"--deps {pattern}: the pattern matches no file (working directory: {os.getcwd()}). "
                    "Check the pattern, or drop it from --deps."
                )
            files.extend(m for m in matches if os.path.isfile(m))
        elif os.path.isdir(pattern):
            files.extend(str(p) for p in sorted(Path(pattern).rglob("*")) if p.is_file())
        elif os.path.isfile(pattern):
            files.append(pattern)
        else:
            raise BadArgument(
                f"--deps {pattern}: no such file or directory (working directory: {os.getcwd()}). "
                "Give an existing path, relative to the notebook's directory or absolute."
            )
    return list(dict.fromkeys(files))


def digest_files(paths: list[str]) -> dict[str, str]:
    """Map each path (as given) to its content hash, in sorted order for a stable key."""
    return {path: file_digest(path) for path in sorted(set(paths))}


def _looks_like_path(text: str) -> bool:
    return len(text) < 1024 and not text.isspace()


def path_digest(path: str | os.PathLike) -> str:
    """A file's content hash; ``dir`` for a folder, ``absent`` if nothing is there (never raises)."""
    try:
        return file_digest(path)
    except IsADirectoryError:
        return "dir"
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError as error:
        return f"unreadable:{error.errno}"


def stat_digest(path: str) -> str:
    """What ``os.path.exists``, ``isfile``, ``getsize`` and ``getmtime`` tell of a path: ``absent``,
    ``dir``, or a file's size and modification time (never raises)."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError as error:
        return f"unreadable:{error.errno}"
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    if stat.S_ISREG(info.st_mode):
        return f"file {info.st_size} {info.st_mtime_ns}"
    return f"other {stat.S_IFMT(info.st_mode)}"


def listing_digest(folder: str) -> str:
    """What a listing of ``folder`` shows: its entries' names and kinds (``absent`` if none)."""
    try:
        entries = sorted((entry.name, entry.is_dir()) for entry in os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError as error:
        return f"unreadable:{error.errno}"
    return xxhash.xxh3_128_hexdigest(repr(entries).encode())


def tree_digest(folder: str) -> str:
    """Every file below ``folder`` (names and contents): what a reader of the whole folder reads."""
    if not os.path.isdir(folder):
        return path_digest(folder)
    hasher = xxhash.xxh3_128()
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            hasher.update(f"{os.path.relpath(path, folder)}\0{path_digest(path)}\0".encode())
    return hasher.hexdigest()


def glob_digest(pattern: str, root: str, recursive: bool) -> str:
    """The paths ``glob`` gives for ``pattern`` from ``root``, in order."""
    matches = sorted(glob.glob(pattern, root_dir=root, recursive=recursive))
    return xxhash.xxh3_128_hexdigest("\0".join(matches).encode())
