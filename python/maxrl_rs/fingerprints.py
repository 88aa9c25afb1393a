"""SHA-256 fingerprints of files: the key of a GGUF conversion in its cache, and of a run's data files.

A run records the fingerprint of each local data file its task reads (``RUN/data_files.json``, written with
its config) because the order of its training epochs and its held-out rows are drawn from the file's rows: a
resume on a changed file would continue a different run. A run saved without the record resumes unchecked.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

from maxrl_rs import atomic
from maxrl_rs.errors import ConfigError, FileError

#: The record of a run's data files, next to its config.
DATA_FILES = "data_files.json"
#: Keys naming a data file a task reads (``task.<name>.<option>``); a reward function's file is code that a
#: resume may fix in place, so it is not one.
DATA_FILE_KEYS = (
    "task.jsonl.train",
    "task.jsonl.eval",
    "task.dataset.train",
    "task.dataset.eval",
    "task.gsm8k.path",
)
_SHOWN = 12  # hex digits of a digest in messages

#: SHA-256 of files this process has hashed, by (resolved path, size, mtime, inode).
_digests: dict[tuple[str, int, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of the file's bytes. Hashing reads the whole file (about 0.3 s per 100 MB); a process
    hashes each unchanged file (same path, size, mtime and inode) once."""
    p = Path(path)
    st = p.stat()
    seen = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    digest = _digests.get(seen)
    if digest is None:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 22):  # hashlib.file_digest is Python >= 3.11
                h.update(chunk)
        digest = _digests[seen] = h.hexdigest()
    return digest


def data_files(cfg: Any) -> dict[str, dict[str, Any]]:
    """``{key: {"path", "size", "sha256"}}`` for each data file that ``cfg``'s task reads (a key of
    :data:`DATA_FILE_KEYS` under ``task.<task.name>``, set to an existing file)."""
    out: dict[str, dict[str, Any]] = {}
    for key in DATA_FILE_KEYS:
        _, task, option = key.split(".")
        path = getattr(getattr(cfg.task, task), option) if task == cfg.task.name else None
        if path and Path(path).is_file():
            out[key] = {"path": str(path), "size": Path(path).stat().st_size, "sha256": file_sha256(path)}
    return out


def record_data_files(run_dir: Path, cfg: Any) -> None:
    """Write ``RUN/DATA_FILES``: the fingerprints of the data files of a run that starts now."""
    atomic.write_text(run_dir / DATA_FILES, json.dumps(data_files(cfg), indent=2))


def check_data_files(run_dir: Path) -> None:
    """ConfigError when a data file recorded at the start of the run in ``run_dir`` is gone or has changed,
    naming the file, its size and digest then and now, and what to do; nothing for a run without a record.

    Raises:
        FileError: the record is unreadable or damaged (named).
    """
    path = run_dir / DATA_FILES
    if not path.is_file():
        return
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        entries = [(key, str(e["path"]), int(e["size"]), str(e["sha256"])) for key, e in recorded.items()]
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as e:
        raise FileError(f"{str(path)!r} is not a readable record of the run's data files ({e!r})") from None
    changed = []
    for key, file, size, digest in entries:
        if not Path(file).is_file():
            changed.append(f"{key} file {file!r} is gone (it had {_fingerprint(size, digest)})")
            continue
        now = file_sha256(file)
        if now != digest:
            then_, now_ = _fingerprint(size, digest), _fingerprint(Path(file).stat().st_size, now)
            changed.append(f"{key} file {file!r} changed since the run started: then {then_}, now {now_}")
    if changed:
        raise ConfigError(
            f"resume: {'; '.join(changed)}. The run's epoch order and held-out rows were drawn from the file "
            "as it was: restore it to resume, or train on the file as it is now in a new run (--out NEW_DIR, "
            f"or --out {shlex.quote(str(run_dir))} --overwrite to replace this run)"
        )


def _fingerprint(size: int, digest: str) -> str:
    return f"{size:,} bytes, sha256 {digest[:_SHOWN]}…"
