"""Run directories: what a path given to ``--resume`` means, what an existing run is, and the lock that keeps
a second process out of a run directory.

A run directory holds ``config.json`` (see :mod:`maxrl_rs.run`); its checkpoints are ``checkpoints/step-N``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from maxrl_rs import checkpoint as ckpt
from maxrl_rs.errors import ConfigError, FileError
from maxrl_rs.fingerprints import DATA_FILES
from maxrl_rs.metrics import METRICS_FILE
from maxrl_rs.models import is_model_dir

LOCK_FILE = ".lock"
#: The cached SFT warm-start (see :mod:`maxrl_rs.run`): kept by ``--overwrite`` and by a failed start, and
#: reused by the next run in the directory when its settings match.
SFT_DIR = "sft"
#: What a run writes at its top level; ``--overwrite`` removes all but the cached warm-start.
RUN_FILES = (ckpt.CONFIG_FILE, DATA_FILES, METRICS_FILE, "tensorboard", ckpt.CHECKPOINTS)


def resolve_resume(path: str | Path) -> tuple[Path, Path | None]:
    """``(run directory, checkpoint or None)`` for a ``--resume`` argument.

    ``RUN`` (or ``RUN/checkpoints``) resumes from its newest readable checkpoint (None here: chosen later);
    ``RUN/checkpoints/step-N`` resumes ``RUN`` from that checkpoint. Paths are made absolute.

    Raises:
        ConfigError: when ``path`` is neither, naming what is missing; for a model directory, saying that a
            model is started from with ``model.path``.
    """
    p = Path(path).absolute()
    if not p.is_dir():
        raise ConfigError(f"resume: {str(path)!r} is not a directory")
    if is_model_dir(p):
        raise ConfigError(_model_dir_message(path, p))
    if (p / ckpt.CONFIG_FILE).is_file() and not (p / ckpt.STATE_FILE).exists():
        return p, None
    if p.parent.name == ckpt.CHECKPOINTS and (p.parent.parent / ckpt.CONFIG_FILE).is_file():
        if not ckpt.STEP_DIR.match(p.name):
            raise ConfigError(f"resume: {str(path)!r} is not a checkpoint (checkpoints are named step-N)")
        return p.parent.parent, p
    if p.name == ckpt.CHECKPOINTS and (p.parent / ckpt.CONFIG_FILE).is_file():
        return p.parent, None
    raise ConfigError(
        f"resume: {str(path)!r} is neither a run directory (no {ckpt.CONFIG_FILE}) nor a checkpoint inside "
        f"one (RUN/{ckpt.CHECKPOINTS}/step-N); give the --out directory of the run to continue"
    )


def check_resume_out(out: str | None, run_dir: Path) -> None:
    """A resumed run continues in its own directory: ConfigError when ``out`` (unset or ``run_dir`` itself
    are fine) names another one, rather than silently training in ``run_dir``."""
    if not out or Path(out).absolute().resolve() == run_dir.resolve():
        return
    raise ConfigError(
        f"out: a resumed run continues in its own directory {str(run_dir)!r}, where its checkpoints, "
        f"metrics, config and lock are, so it cannot move to {out!r}; drop --out (or out from "
        f"--config/--set) to resume it in place, or copy {str(run_dir)!r} to {out!r} and resume the copy"
    )


def _model_dir_message(path: str | Path, p: Path) -> str:
    """Why a model directory is not something to resume, and what to give instead."""
    holder, instead = p.parent, ""
    if (holder / ckpt.STATE_FILE).is_file():  # RUN/checkpoints/step-N/model
        instead = f" (this one is the model of checkpoint {str(holder)!r}: --resume {holder})"
    elif (holder / ckpt.CONFIG_FILE).is_file() and not is_model_dir(holder):  # RUN/sft, RUN/merged
        instead = f" (this one is inside the run {str(holder)!r}: --resume {holder})"
    return (
        f"resume: {str(path)!r} is a model directory, not a run; --resume takes a run directory RUN (the "
        f"--out of maxrl train), RUN/{ckpt.CHECKPOINTS} or a checkpoint "
        f"RUN/{ckpt.CHECKPOINTS}/step-N{instead}. "
        f"To start a new run from this model, give model.path={path} (--set model.path={path})"
    )


def later_checkpoints(run_dir: Path, checkpoint: Path) -> list[Path]:
    """The checkpoints of ``run_dir`` newer than ``checkpoint``."""
    m = ckpt.STEP_DIR.match(checkpoint.name)
    step = int(m.group(1)) if m else -1
    return [p for s, p in ckpt.step_dirs(run_dir) if s > step]


def check_new_run(run_dir: Path, *, overwrite: bool) -> None:
    """Refuse to start a new run over an existing one (or over a directory that is not a run) unless
    ``overwrite``, which removes the old run's config, metrics and checkpoints (a cached warm-start stays:
    it is reused only when its settings match)."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ConfigError(f"out: {str(run_dir)!r} exists and is not a directory")
    entries = {p.name for p in run_dir.iterdir()} - {LOCK_FILE, SFT_DIR}
    if not entries:  # empty, or what a failed start left: its cached warm-start
        return
    if ckpt.CONFIG_FILE not in entries:
        raise ConfigError(
            f"out: {str(run_dir)!r} is not empty and holds no run ({ckpt.CONFIG_FILE} is missing); "
            "pick a new or empty directory"
        )
    if not overwrite:
        found = ckpt.step_dirs(run_dir)
        held = f"checkpoints up to step {found[-1][0]}" if found else "a run without checkpoints"
        raise ConfigError(
            f"out: {str(run_dir)!r} already holds {held}; continue it with --resume {run_dir}, "
            "replace it with --overwrite, or pick another --out"
        )


class NewRun:
    """What a new run adds to its directory, so that a run failing before its first checkpoint can take it
    back (:meth:`undo`) and a retry with the same ``out`` starts afresh.

    Made just before the run creates its directory: it records whether the directory (and which of its
    parents) existed, and the entries it held (those ``overwrite`` clears do not count: the old run is gone).
    """

    def __init__(self, run_dir: Path, *, overwrite: bool) -> None:
        self.run_dir = run_dir
        self.made = [p for p in (run_dir, *run_dir.parents) if not p.exists()]  # deepest first
        had = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
        self.had = had - set(RUN_FILES) if overwrite else had

    def undo(self) -> bool:
        """Remove what the run added (the cached warm-start stays), and the directories made for it that are
        then empty; nothing once it has a checkpoint. True when something was removed."""
        if not self.run_dir.is_dir() or ckpt.step_dirs(self.run_dir):
            return False
        added = [p for p in self.run_dir.iterdir() if p.name not in self.had and p.name != SFT_DIR]
        for p in added:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        for d in self.made:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        return bool(added)


def clear_run(run_dir: Path) -> None:
    """Remove what a previous run wrote (see :data:`RUN_FILES`)."""
    for name in RUN_FILES:
        p = run_dir / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``RUN_DIR/.lock`` (an exclusive ``flock``, holding this process id) for the block.

    The operating system releases the lock when the process dies, so a lock left by a killed run never
    blocks the next one.

    Raises:
        FileError: when another live process holds the lock, naming it.
    """
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise FileError(
                f"{str(run_dir)!r} is in use by process {holder} (lock {str(path)!r}); "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
