"""maxrl_rs.atomic: whole-file replacement, same-file detection and full-disk reporting."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from maxrl_rs import atomic
from maxrl_rs.atomic import NoSpaceError, atomic_open, atomic_path, no_space, reporting_full_disk, same_file


def test_replaces_only_when_the_block_completes(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(ValueError, match="bad row"), atomic_open(out) as f:
        f.write("half")
        raise ValueError("bad row")
    assert out.read_text() == "old"
    with pytest.raises(KeyboardInterrupt), atomic_open(out) as f:
        f.write("half")
        raise KeyboardInterrupt
    assert out.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]
    with atomic_open(out) as f:
        f.write("new")
    assert out.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]
    atomic.write_text(tmp_path / "sub" / "x.json", "{}")  # the directory is made
    assert (tmp_path / "sub" / "x.json").read_text() == "{}"
    with pytest.raises(ValueError, match="mode 'w' or 'wb'"), atomic_open(out, "a"):
        pass


def test_atomic_path_for_writers_that_take_a_name(tmp_path):
    out = tmp_path / "w.bin"
    with atomic_path(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        tmp.write_bytes(b"\x00\x01")
        assert not out.exists()
    assert out.read_bytes() == b"\x00\x01" and os.listdir(tmp_path) == ["w.bin"]


def test_same_file(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    (tmp_path / "l").symlink_to(a)
    os.link(a, tmp_path / "h")
    assert same_file(a, tmp_path / "l") and same_file(a, tmp_path / "h")
    assert same_file(a, tmp_path / "." / "a")
    (tmp_path / "b").write_text("x")
    assert not same_file(a, tmp_path / "b") and not same_file(a, tmp_path / "missing")


def test_full_disk_is_found_through_wrapping_errors(tmp_path):
    path = tmp_path / "f"
    direct = no_space(OSError(errno.ENOSPC, "No space left on device"), path)
    assert (
        isinstance(direct, NoSpaceError)
        and str(direct) == f"no space left on device while writing {str(path)!r}"
    )
    assert no_space(OSError(errno.EDQUOT, "Disk quota exceeded"), path) is not None
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            raise RuntimeError("unexpected pos 945280 vs 945172") from e
    except RuntimeError as wrapped:
        assert no_space(wrapped, path) is not None
    assert no_space(OSError(errno.EACCES, "Permission denied"), path) is None
    assert no_space(ValueError("x"), path) is None


def test_full_disk_without_errno_is_found_by_free_space(tmp_path, monkeypatch):
    torn = RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 945280 vs 945172")
    assert no_space(torn, tmp_path / "state.pt") is None  # plenty of space: not a full disk
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: type("U", (), {"free": 4096})())
    full = no_space(torn, tmp_path / "missing" / "state.pt")
    assert full is not None and "no space left on device while writing" in str(full)
    assert "state.pt" in str(full) and "unexpected pos" in str(full)
    with pytest.raises(NoSpaceError) as e, reporting_full_disk(Path("ckpt")):
        raise torn
    assert e.value.__cause__ is torn
