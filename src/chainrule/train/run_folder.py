"""A run folder (``chainrule train --out DIR``): one run's files, never two runs' mixed.

- A folder that holds a run (its checkpoint, model or metrics) is not trained into again:
  ``--resume DIR`` continues that run, ``--overwrite`` replaces it (its files are removed before
  the new run writes any), any other name starts afresh. As Keras, Lightning and MLflow users
  expect, nothing is replaced without being asked.
- A lock (``DIR/.chainrule.lock``, an ``flock`` held for the run's life) keeps a second run out
  of a folder in use; the kernel releases it when the process ends, even by kill -9, so a
  stale lock never blocks a resume.
- With the lock held, the temporary files of writes that a kill interrupted (``.NAME.*.tmp``)
  are removed: no other run can be writing them.
- The folder is created and checked writable before any data is read or epoch run.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import os
import re
from pathlib import Path
from types import TracebackType
from typing import IO

from ..errors import ChainruleError, ConfigError

RUN_FILES = ("checkpoint.npz", "model.npz", "metrics.json")
PLOTS = ("training_curves.png", "gradient_flow.png")  # --plot's, replaced with the run
LOCK = ".chainrule.lock"
REPLACED = ".replaced-run"  # the old run's files while --overwrite's new run is going
# The temporary names of fileio.atomic_open: "." + name + "." + mkstemp's 8 characters + ".tmp".
_TEMPORARY = re.compile(
    r"^\.(?:checkpoint\.npz|model\.npz|metrics\.json|[\w.-]+\.png)\.\w{8}\.tmp$"
)


def _os_error(path: Path, exc: OSError) -> ChainruleError:
    if exc.errno == errno.ENAMETOOLONG:
        return ChainruleError(f"cannot use output folder {path}: a name in it is too long")
    return ChainruleError(f"cannot use output folder {path}: {exc.strerror or exc}")


class RunFolder:
    """Hold DIR for one run: ``with RunFolder(out, resume=..., overwrite=...):``.

    Args:
        path: the run folder (created if missing).
        resume: this run continues the one in the folder (its checkpoint must be there).
        overwrite: replace the run in the folder, if any.
    """

    def __init__(self, path: str | os.PathLike[str], resume: bool = False, overwrite: bool = False):
        if resume and overwrite:
            raise ConfigError("--overwrite and --resume contradict each other: choose one")
        self.path = Path(path)
        self.resume, self.overwrite = resume, overwrite
        self._lock: IO[str] | None = None
        self.removed_temporaries = 0
        self.gave_back = False  # a failed --overwrite run put the old run back

    def existing_run(self) -> list[str]:
        return [name for name in RUN_FILES if (self.path / name).exists()]

    def __enter__(self) -> RunFolder:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(self.path, exc) from exc
        if not self.path.is_dir():
            raise ChainruleError(f"cannot use output folder {self.path}: it is not a folder")
        self._take_lock()
        try:
            # A run that --overwrite started and a kill ended: its checkpoint wins, else the
            # run it was replacing comes back.
            self._settle_replaced(KeyboardInterrupt())
            self.gave_back = False  # that was an earlier run's
            self._check_contents()
            self._remove_temporaries()
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._settle_replaced(error)
        finally:
            self.release()

    def _settle_replaced(self, error: BaseException | None) -> None:
        """--overwrite keeps the old run aside until the new one has ended: a new run that
        fails gives the folder back as it was; one that ends, or that a Ctrl-C (or a kill)
        stopped with a checkpoint to resume, drops the old run."""
        aside = self.path / REPLACED
        if not aside.is_dir():
            return
        if error is not None:
            own = [name for name in (*RUN_FILES, *PLOTS) if (self.path / name).exists()]
            stopped = isinstance(error, KeyboardInterrupt) and "checkpoint.npz" in own
            if not stopped:
                self.gave_back = True
                for name in own:
                    with contextlib.suppress(OSError):
                        (self.path / name).unlink()
                for kept in aside.iterdir():
                    with contextlib.suppress(OSError):
                        os.replace(kept, self.path / kept.name)
        for left in aside.iterdir():
            with contextlib.suppress(OSError):
                left.unlink()
        with contextlib.suppress(OSError):
            aside.rmdir()

    # ---------------------------------------------------------------- the lock
    def _take_lock(self) -> None:
        lock_path = self.path / LOCK
        try:
            handle = open(lock_path, "a+")  # held until release()
        except OSError as exc:
            raise _os_error(self.path, exc) from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise ChainruleError(
                    f"{self.path} is in use by another chainrule run ({holder}); wait for it to "
                    "end, or give this run another --out"
                ) from None
            raise _os_error(self.path, exc) from exc
        started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {started}\n")
        handle.flush()
        self._lock = handle

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.truncate(0)
            self._lock.close()  # closing releases the flock
            self._lock = None

    # ---------------------------------------------------------------- the contents
    def _check_contents(self) -> None:
        found = self.existing_run()
        if self.resume:
            if "checkpoint.npz" not in found:
                raise ConfigError(
                    f"--resume {self.path}: no checkpoint.npz there (train with --out "
                    f"{self.path} first)"
                )
            return
        if not found:
            return
        if not self.overwrite:
            kind = "a finished run" if "model.npz" in found else "an unfinished run"
            raise ConfigError(
                f"{self.path} already holds {kind} ({', '.join(found)}); continue it with "
                f"--resume {self.path}, replace it with --overwrite, or choose another --out"
            )
        aside = self.path / REPLACED  # until the new run has ended: see _settle_replaced
        try:
            aside.mkdir(exist_ok=True)
            for name in [*found, *(p for p in PLOTS if (self.path / p).exists())]:
                os.replace(self.path / name, aside / name)
        except OSError as exc:
            raise _os_error(self.path, exc) from exc

    def _remove_temporaries(self) -> None:
        try:
            names = os.listdir(self.path)
        except OSError as exc:
            raise _os_error(self.path, exc) from exc
        for name in names:
            if _TEMPORARY.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(self.path / name)
                    self.removed_temporaries += 1
