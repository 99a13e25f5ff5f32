"""Files of a local model folder, read without leaving it and without hanging on what is not a file.

A repo's files are untrusted like its bytes: a symlink may point at a token file or `/dev/zero`, a
"weights file" may be a FIFO that never ends. So every read here

- stays inside the folder: a symlink whose target resolves outside is refused, unless the caller
  asks (`follow_symlinks=True`); the Hugging Face cache layout (`snapshots/<sha>/x ->
  ../../blobs/<hash>`) is followed, since its blobs belong to the same cached repo;
- opens only regular files (FIFOs, devices, sockets and directories are refused; the open itself is
  non-blocking so a FIFO without a writer cannot hang it), and enforces each size cap while reading,
  not only from `stat`;
- turns every OS failure (a dangling symlink, a loop, a permission) into a typed one-line error that
  names the file and never shows its content.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import InvalidData, TooLarge
from ..inert import inert

_CHUNK = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _os_error(e: OSError, path: Path, where: str) -> InvalidData:
    if e.errno == errno.ELOOP:
        why = "is a symlink loop"
    elif e.errno == errno.ENOENT:
        why = "is a dangling symlink" if path.is_symlink() else "does not exist"
    elif e.errno in (errno.EACCES, errno.EPERM):
        why = "cannot be read (permission denied)"
    elif e.errno == errno.ENAMETOOLONG:
        why = "has a name too long for the file system"
    else:
        why = f"cannot be read ({errno.errorcode.get(e.errno or 0, 'OS error')})"
    return InvalidData(why, where=where)


def open_regular(path: Path, where: str) -> tuple[int, int]:
    """(fd, size) of a regular file; anything else is refused before a byte is read."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _os_error(e, path, where) from None
    except ValueError:  # a NUL in the name
        raise InvalidData("has an impossible file name", where=where) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidData(f"is {_kind(st.st_mode)}, not a regular file: refused", where=where)
        return fd, st.st_size
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path, cap: int, where: str, *, what: str | None = None) -> bytes:
    """The whole of a regular file of at most `cap` bytes, counted while reading (a file may grow)."""
    label = what or path.name
    fd, size = open_regular(path, where)
    try:
        if size > cap:
            raise TooLarge(f"{inert(label, 80)} is {size} bytes (limit {cap})", where=where)
        parts: list[bytes] = []
        got = 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, cap + 1 - got))
            except OSError as e:
                raise _os_error(e, path, where) from None
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
            if got > cap:
                raise TooLarge(f"{inert(label, 80)} grew past {cap} bytes while being read", where=where)
        return b"".join(parts)
    finally:
        os.close(fd)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class LocalFolder:
    """A model folder whose files are read only through here (see the module docstring)."""

    def __init__(self, root: Path, *, follow_symlinks: bool = False) -> None:
        self.root = root
        self.follow_symlinks = follow_symlinks
        self.real = os.path.realpath(root)
        # The Hugging Face cache: <repo>/snapshots/<sha>/<file> -> ../../blobs/<hash>.
        parent = os.path.dirname(self.real)
        repo = os.path.dirname(parent)
        blobs = os.path.join(repo, "blobs")
        self.blobs = blobs if os.path.basename(parent) == "snapshots" and os.path.isdir(blobs) else None

    def where(self, name: str) -> str:
        """The file as errors name it: a file name may hold control characters, shown escaped."""
        return inert(str(self.root / name), None)

    def path(self, name: str) -> Path:
        """The path to open for a repo file `name`, refusing names and symlinks that leave the folder."""
        where = self.where(name)
        if not name or "\x00" in name or "\\" in name or name.startswith("/") or ".." in name.split("/"):
            raise InvalidData("is not a file name inside the folder", where=where)
        p = self.root / name
        if self.follow_symlinks:
            return p
        real = os.path.realpath(p)
        if _inside(real, self.real) or (self.blobs is not None and _inside(real, self.blobs)):
            # The resolved path is what gets opened: a link swapped after this check is not followed.
            # (A missing or looping target is opened as named, so the error says which it is.)
            return Path(real) if os.path.exists(real) else p
        raise InvalidData("is a symlink that leaves the model folder: refused (follow_symlinks / --follow-symlinks "
                          "allows it)", where=where)

    def read(self, name: str, cap: int) -> bytes:
        return read_capped(self.path(name), cap, self.where(name), what=name)

    def is_file(self, name: str) -> bool:
        """Whether the folder lists `name` as something to read (a broken symlink counts: reading it
        then says why it cannot be read)."""
        p = self.root / name
        return p.is_symlink() or p.exists()
