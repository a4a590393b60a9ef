"""All file-system access of a store, behind one narrow interface.

The store above this module speaks only in relative POSIX paths (``objects/ab/…``)
and whole files: write a new file atomically, open one for reading, list, move
aside, sync. Keeping every ``open``/``os.replace`` here means an fsspec backend
(S3) later replaces one class, and every OS error is translated into a
``StoreError`` in one place, with a message that says what to do.

Durability rule: a file appears under its final name only through
``os.replace`` of a complete temporary file in ``tmp/``; a crash or interrupt
leaves at most a stray file in ``tmp/``, which ``clean_tmp`` removes later.

Files written for the user (exports, ``--save``) go through ``replacing``: whole
or not at all, and with the permissions any new file of theirs gets (mode 0666
less the umask, where ``tempfile.mkstemp`` would make it private), so that
colleagues on a shared server can open them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from wfnb.errors import StoreError
from wfnb.store.layout import CORRUPT, TMP

_TMP_MAX_AGE_S = 24 * 3600  # a writer alive for a day is gone in all but name
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"
_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM)


class LocalFiles:
    """A store's files in a local directory; every method takes a relative path.

    Opened ``read_only`` (a command that only looks, or a store this process
    cannot write), it never changes a file: every write is refused with a
    ``StoreError``, a use is not recorded (``freshen``), and a damaged file is
    left where it is, for ``wfnb verify`` to set aside.
    """

    background_writes = True  # run-log entries may be written from another thread (wfnb.store.runlog)

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        self.root = root
        self.read_only = read_only

    def _refuse_writes(self, rel: str | None = None) -> None:
        """Refuse any change to a store opened read-only."""
        if self.read_only:
            where = f" ({rel})" if rel else ""
            raise StoreError(
                f"The store at {self.root} was opened read-only, so nothing in it can change{where}. "
                "Open it to write (a writable folder, or another store with WFNB_STORE) to store results."
            )

    # ----- reading
    def open_read(self, rel: str) -> BinaryIO:
        """Open a file unbuffered, so that ``readinto`` fills the caller's buffer directly."""
        return open(self.root / rel, "rb", buffering=0)

    def read_bytes(self, rel: str) -> bytes:
        """The whole content of a small file."""
        return (self.root / rel).read_bytes()

    def exists(self, rel: str) -> bool:
        """True if a file (not a directory) exists at ``rel``."""
        return (self.root / rel).is_file()

    def size(self, rel: str) -> int:
        """Size in bytes; FileNotFoundError if absent."""
        return (self.root / rel).stat().st_size

    def modified(self, rel: str) -> float:
        """Last modification time (seconds since the epoch); FileNotFoundError if absent."""
        return (self.root / rel).stat().st_mtime

    def freshen(self, rel: str) -> bool:
        """Set a file's modification time to now, so that ``gc``'s grace period counts from this use.

        False if the file is gone (``gc`` may just have retired it): the caller
        must then write it again. Otherwise best effort: a store this process
        cannot write is one it cannot collect either.
        """
        if self.read_only:
            return self.exists(rel)
        try:
            os.utime(self.root / rel)
        except FileNotFoundError:
            return False
        except OSError:
            pass
        return True

    def retire(self, rel: str, cutoff: float) -> bool:
        """Delete a file unless it was used (modified) after ``cutoff``; True if it was deleted.

        The file is first moved aside (one atomic rename), and only then is its
        time read: a writer that freshened it before the move gets it back, and
        a writer that comes after the move finds it gone and writes it again
        (see ``freshen``). No moment exists at which both lose it.
        """
        self._refuse_writes(rel)
        aside = self.root / TMP / self._tmp_name()
        try:
            os.rename(self.root / rel, aside)
        except FileNotFoundError:
            return False
        try:
            if aside.stat().st_mtime <= cutoff:
                return True
            try:
                os.link(aside, self.root / rel)
            except FileExistsError:
                pass  # a writer has written it again meanwhile
            return False
        finally:
            _unlink_quietly(aside)

    def walk(self, top: str) -> Iterator[str]:
        """Relative paths of all files under ``top``, sorted for reproducible output."""
        base = self.root / top
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                yield f"{rel_dir}/{name}"

    def listing(self, top: str) -> Iterator[tuple[str, int, float]]:
        """``(path, size, modification time)`` of every file under ``top`` (one stat each)."""
        for rel in self.walk(top):
            try:
                info = (self.root / rel).stat()
            except FileNotFoundError:  # quarantined or removed meanwhile
                continue
            yield rel, info.st_size, info.st_mtime

    def usage(self, top: str) -> int:
        """Total size in bytes of the files under ``top``."""
        total = 0
        for rel in self.walk(top):
            try:
                total += self.size(rel)
            except FileNotFoundError:  # quarantined or removed meanwhile
                pass
        return total

    def fresh_reads(self) -> contextlib.AbstractContextManager[None]:
        """Reads are always of the files themselves here (a remote store bypasses its cache within this)."""
        return contextlib.nullcontext()

    # ----- writing
    def refuse_foreign(self, names: Iterable[str]) -> None:
        """Refuse to scatter store directories into a directory that holds something else."""
        try:
            entries = set(os.listdir(self.root))
        except FileNotFoundError:
            return
        except OSError as err:
            raise self.error(err, "list") from err
        foreign = sorted(entries - set(names))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", …" if len(foreign) > 5 else "")
            raise StoreError(
                f"The directory {self.root} is not a wfnb store (it has no FORMAT file) and is not empty "
                f"(it holds {shown}). Choose a new or empty directory with WFNB_STORE or "
                "open_store(path), so that wfnb never mixes its files with yours."
            )

    def make_dirs(self, names: Iterable[str]) -> None:
        """Create the store's top-level directories (and the root) if missing."""
        self._refuse_writes()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name in names:
                (self.root / name).mkdir(exist_ok=True)
        except OSError as err:
            raise self.error(err, "create the store's directories in") from err

    def write(
        self, rel: str, chunks: Iterable[object], *, durable: bool = False, head: Callable[[], bytes] | None = None
    ) -> int:
        """Write ``chunks`` (buffers) to a new file at ``rel`` atomically; return bytes written.

        The data goes to ``tmp/`` first and is renamed over ``rel`` only when
        complete, so a reader never sees a partial file. With ``durable``, one
        filesystem sync runs just before the rename: it makes this file and every
        earlier write durable, which is what a commit point needs. On any error or
        interrupt the temporary file is removed. ``head``, if given, is called once
        every chunk is written: its bytes go over the start of the file (a blob's
        header, finished while its payload was written; see ``frame_concurrently``).
        """
        self._refuse_writes(rel)
        tmp = self.root / TMP / self._tmp_name()
        final = self.root / rel
        renamed = False
        written = 0
        try:
            with open(tmp, "xb") as f:
                for chunk in chunks:
                    written += f.write(chunk)  # type: ignore[arg-type]  # bytes-like chunks (bytes, memoryview)
                if head is not None:
                    f.seek(0)
                    f.write(head())
            if durable:
                self.sync()
            self._replace(tmp, final)
            renamed = True
        except OSError as err:
            raise self.error(err, "write", rel) from err
        finally:
            if not renamed:
                _unlink_quietly(tmp)
        return written

    def create(self, rel: str, chunks: Iterable[object]) -> bool:
        """Write a new file at ``rel`` only if none exists there; False if one does.

        The complete file is linked into place (``link`` fails on an existing
        name), so two writers racing for one name never both win and a reader
        never sees a partial file.
        """
        self._refuse_writes(rel)
        tmp = self.root / TMP / self._tmp_name()
        final = self.root / rel
        try:
            with open(tmp, "xb") as f:
                for chunk in chunks:
                    f.write(chunk)  # type: ignore[arg-type]  # bytes-like chunks (bytes, memoryview)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.link(tmp, final)
            return True
        except FileExistsError:
            return False
        except OSError as err:
            raise self.error(err, "write", rel) from err
        finally:
            _unlink_quietly(tmp)

    def delete(self, rel: str) -> bool:
        """Remove the file at ``rel``; False if it was not there."""
        self._refuse_writes(rel)
        try:
            (self.root / rel).unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as err:
            raise self.error(err, "delete", rel) from err

    def probe(self) -> None:
        """Create and remove a file in ``tmp/``, to report an unwritable store at open time."""
        self._refuse_writes()
        tmp = self.root / TMP / self._tmp_name()
        try:
            tmp.touch(exist_ok=False)
        except OSError as err:
            raise self.error(err, "write a test file in") from err
        finally:
            _unlink_quietly(tmp)

    def quarantine(self, rel: str, opened: BinaryIO | None = None) -> str | None:
        """Move a bad file into ``corrupt/`` (never delete it); return its new path.

        None if the file was already gone, or if ``opened`` (the bad file as it
        was read) is no longer the file at ``rel``: another process quarantined
        it and wrote a good one meanwhile, which must not be moved.
        """
        self._refuse_writes(rel)
        target = f"{CORRUPT}/{rel.replace('/', '-')}-{time.time_ns()}"
        try:
            if opened is not None:
                now, then = os.stat(self.root / rel), os.fstat(opened.fileno())
                if (now.st_dev, now.st_ino) != (then.st_dev, then.st_ino):
                    return None
            os.replace(self.root / rel, self.root / target)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise self.error(err, "move a corrupt file out of", rel) from err
        return target

    def sync(self) -> None:
        """Flush everything written to the store's filesystem to stable storage.

        One ``syncfs`` covers every file written since the last one, however many;
        a per-file fsync would cost one disk flush per object.
        """
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError as err:
            raise self.error(err, "sync") from err
        try:
            if _syncfs is None:
                os.sync()
            elif _syncfs(fd) != 0:
                code = ctypes.get_errno()
                raise self.error(OSError(code, os.strerror(code)), "sync")
        finally:
            os.close(fd)

    def clean_tmp(self) -> int:
        """Remove temporary files whose writer is gone or that are over a day old."""
        if self.read_only:
            return 0
        return remove_stale_tmp(self.root / TMP)

    def prune_cache(self, keep: Iterable[str]) -> int:
        """Nothing to prune: a local store keeps no copies elsewhere (a remote one caches its objects)."""
        return 0

    # ----- errors
    def error(self, err: OSError, action: str, rel: str | None = None) -> StoreError:
        """Turn an OSError into a StoreError that says what to do about it."""
        where = self.root / rel if rel else self.root
        code = err.errno
        reason = f"{errno.errorcode.get(code or 0, code)}: {err.strerror or err}"  # no errno: None, as before
        if code in _FULL:
            return StoreError(
                f"The disk holding the store at {self.root} is full ({reason}) while trying to "
                f"{action} {where}. Free some space, or choose another store "
                "with WFNB_STORE. Nothing partial was left in the store."
            )
        if code in _DENIED or code == errno.EROFS:
            why = "is on a read-only file system" if code == errno.EROFS else "is not writable"
            return StoreError(
                f"The store at {self.root} {why} ({reason}) while trying to {action} {where}. "
                "Fix its permissions or mount, or choose another store with WFNB_STORE."
            )
        return StoreError(
            f"Could not {action} {where} in the store at {self.root} ({reason}). Check the disk "
            "and the directory, or choose another store with WFNB_STORE."
        )

    # ----- internals
    def _tmp_name(self) -> str:
        return f"{_HOST}-{os.getpid()}-{secrets.token_hex(8)}"

    def _replace(self, tmp: Path, final: Path) -> None:
        try:
            os.replace(tmp, final)
        except FileNotFoundError:
            if not tmp.exists():
                raise
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)


def remove_stale_tmp(tmp_dir: Path) -> int:
    """Remove the files in ``tmp_dir`` whose writer is gone or that are over a day old; return how many."""
    try:
        names = os.listdir(tmp_dir)
    except OSError:
        return 0
    removed = 0
    now = time.time()
    for name in names:
        path = tmp_dir / name
        try:
            old = now - path.stat().st_mtime > _TMP_MAX_AGE_S
        except OSError:
            continue
        if old or _writer_is_gone(name):
            removed += _unlink_quietly(path)
    return removed


def set_aside(files: Any, rel: str, opened: BinaryIO | None = None) -> str:
    """Quarantine a bad file and say what became of it, for messages ("was moved to corrupt/…").

    A store that cannot be written (a read-only mount, a colleague's folder)
    keeps the file where it is: reading a store never needs write access.
    """
    if getattr(files, "read_only", False):
        return "was left in place (the store was opened read-only; `wfnb verify` sets damaged files aside)"
    try:
        target = files.quarantine(rel, opened)
    except StoreError:
        return "was left in place (the store is not writable)"
    return f"was moved to {target}" if target else "was already moved away"


def read_if_present(files: Any, rel: str) -> bytes | None:
    """The bytes of a store file, or None if it does not exist; other OS errors become StoreError."""
    try:
        return files.read_bytes(rel)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise files.error(err, "read", rel) from err


def _writer_is_gone(name: str) -> bool:
    """True if a tmp file was written by a process of this host that no longer runs."""
    head = name.rpartition("-")[0]
    host, _, pid_text = head.rpartition("-")
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, owned by someone else
        return False
    return False


def _unlink_quietly(path: Path) -> int:
    try:
        os.unlink(path)
    except OSError:
        return 0
    return 1


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs`` where it exists (Linux), else None (fall back to ``os.sync``)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        func = libc.syncfs
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int]
    func.restype = ctypes.c_int
    return func


_syncfs = _load_syncfs()




@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new, empty temporary file beside ``path``; renamed over ``path`` if the block succeeds, else removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
