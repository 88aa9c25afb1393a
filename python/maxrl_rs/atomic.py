"""Writing files so that a crash, a full disk or a rejected input never leaves a half-written or emptied file.

Every output of maxrl_rs (graded JSONL, evaluation reports, ``config.json``, checkpoints) is written to a
temporary file in the destination's directory and renamed over it only once complete: the old file, if
any, stays intact until the new one is whole. A full disk is reported as "no space left on device" with
the path being written, instead of the low-level error of whichever library was writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: errno values that mean the disk (or the user's quota) is full.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class NoSpaceError(OSError):
    """The device holding ``filename`` is full (ENOSPC or EDQUOT); the message names the path."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


#: Free bytes below which a failed write is taken for a full disk.
_NEARLY_FULL = 1 << 20


def no_space(error: BaseException, path: str | Path) -> NoSpaceError | None:
    """A :class:`NoSpaceError` naming ``path`` when ``error`` comes from a full disk, else None.

    Libraries wrap the OSError, so the chain of causes is searched; some drop it altogether (torch's writer
    reports only ``unexpected pos 945280 vs 945172``), so any other failed write on a device with less than
    1 MiB free counts as a full disk too.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, NoSpaceError):
            return seen
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return NoSpaceError(seen.errno, f"no space left on device while writing {str(path)!r}", str(path))
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, (OSError, RuntimeError)) and _free_bytes(Path(path)) < _NEARLY_FULL:
        return NoSpaceError(
            errno.ENOSPC,
            f"no space left on device while writing {str(path)!r} ({type(error).__name__}: {error})",
            str(path),
        )
    return None


def _free_bytes(path: Path) -> int:
    """Free bytes on the device holding ``path`` (or its nearest existing parent); large when unknown."""
    for p in (path, *path.parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free
            except OSError:
                break
    return 1 << 62


@contextlib.contextmanager
def reporting_full_disk(path: str | Path) -> Iterator[None]:
    """Re-raise a full-disk error inside the block as :class:`NoSpaceError` naming ``path``."""
    try:
        yield
    except Exception as e:
        full = no_space(e, path)
        if full is None or full is e:
            raise
        raise full from e


def _mode_for(final: Path) -> int:
    """The permissions a plain ``open(final, "w")`` would give: those of the file it replaces, else 0o666
    less the umask (``mkstemp`` makes its file 0o600, readable by its owner only)."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(final.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """A temporary path next to ``path``; renamed to ``path`` when the block ends without an error, removed
    otherwise. For writers that take a file name (``torch.save``, ``save_pretrained`` of a directory)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with reporting_full_disk(final):
            yield tmp
            _fsync(tmp)
            os.chmod(tmp, _mode_for(final))
            os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(final.parent)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """``open(path, mode)`` that writes a temporary file and renames it over ``path`` at the end.

    On an exception inside the block (a rejected input row, Ctrl-C, a full disk) ``path`` is untouched and
    the temporary file is removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()


def write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically."""
    with atomic_open(path) as f:
        f.write(text)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are one file (after symlinks and hard links); False if either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def fsync_dir(path: str | Path) -> None:
    """Make a rename inside ``path`` durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


__all__ = [
    "NoSpaceError",
    "atomic_open",
    "atomic_path",
    "fsync_dir",
    "no_space",
    "reporting_full_disk",
    "same_file",
    "write_text",
]
