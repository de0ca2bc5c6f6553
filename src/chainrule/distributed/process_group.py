"""The process group: which process this is, how many there are, and the collectives over MPI.

chainrule trains data-parallel on MPI (mpi4py), the standard engine of HPC codes and Horovod:
``mpiexec -n N`` starts N copies of a script; every collective here is an MPI call on
``COMM_WORLD``. Without MPI (no launcher, or mpi4py not installed) the group is one process:
rank 0 of 1, and every collective returns its input, so one script runs both ways.

Faults never hang a run:
- every blocking collective waits with a deadline (``init(timeout=...)``, default 600 s, or
  ``CHAINRULE_DIST_TIMEOUT``); past it, the waiting rank says so and aborts the whole job;
- an error that every rank reaches together (a setup step, a checkpoint write) is agreed on
  with :func:`agree`, so every rank stops with the same message, naming the rank that failed;
- any other error on one rank aborts the job (``MPI_Abort``), after its one line is printed;
- a rank killed outright is seen by the launcher (``mpiexec``), which stops the others at once.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ChainruleError, ConfigError

# The environment variables that MPI launchers set in every process they start.
_LAUNCHER_VARIABLES = (
    "PMI_RANK",
    "PMI_SIZE",
    "OMPI_COMM_WORLD_SIZE",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
)
DEFAULT_TIMEOUT = 600.0


class DistributedError(ChainruleError):
    """A failure of the process group: a rank's error every rank agreed on, or a timeout.

    ``rank`` is the rank where it happened (None when not known)."""

    def __init__(self, message: str, rank: int | None = None) -> None:
        super().__init__(message)
        self.rank = rank
        self.collective = True  # raised on every rank at the same point


class _Group:
    def __init__(self) -> None:
        self.comm: Any = None  # mpi4py's COMM_WORLD, when initialised under a launcher
        self.mpi: Any = None
        self.rank, self.size = 0, 1
        self.local_rank, self.local_size = 0, 1
        self.timeout = DEFAULT_TIMEOUT
        self.initialized = False


_group = _Group()


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init(timeout: float | None = None) -> int:
    """Join the MPI job this process was launched in; return the world size.

    Outside a launcher this is a no-op (world size 1). Under ``mpiexec -n N`` it needs mpi4py
    (``pip install 'chainrule[distributed]'``). Each process's CPU threads are set to its share
    of the machine's cores (cores // processes on this machine) unless ``--threads``,
    ``set_num_threads`` or ``CHAINRULE_NUM_THREADS`` chose a count. Calling it again changes
    nothing but the timeout.

    Args:
        timeout: seconds a collective waits for the other ranks before the job is aborted
            (default 600, or ``CHAINRULE_DIST_TIMEOUT``).
    """
    _group.timeout = _timeout(timeout)
    if _group.initialized:
        return _group.size
    _group.initialized = True
    if not launched_by_mpi():
        return 1
    try:
        from mpi4py import MPI
    except ImportError:
        raise ConfigError(
            "this process was started by an MPI launcher (mpiexec), but mpi4py is not "
            "installed: pip install 'chainrule[distributed]'"
        ) from None
    comm = MPI.COMM_WORLD
    _group.mpi, _group.comm = MPI, comm
    _group.rank, _group.size = comm.Get_rank(), comm.Get_size()
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    _group.local_rank, _group.local_size = local.Get_rank(), local.Get_size()
    local.Free()
    _share_cores()
    if _group.size > 1:
        sys.excepthook = _abort_on_uncaught(sys.excepthook)
    return _group.size


def _abort_on_uncaught(previous: Any) -> Any:
    """An uncaught error on one rank would leave the others waiting in a collective: after the
    traceback, stop the job (as ``python -m mpi4py`` does). An error every rank raised at the
    same step (``collective``) ends each process normally."""

    def hook(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
        previous(kind, error, traceback)
        if not getattr(error, "collective", False):
            _abort(1)

    return hook


def _timeout(value: float | None) -> float:
    if value is None:
        text = os.environ.get("CHAINRULE_DIST_TIMEOUT", "").strip()
        if not text:
            return _group.timeout
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"CHAINRULE_DIST_TIMEOUT must be seconds, got {text!r}") from None
    if hasattr(value, "total_seconds"):  # a datetime.timedelta, as torch.distributed takes
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(
            f"the distributed timeout must be a positive number of seconds, got {value!r}"
        )
    return float(value)


def _share_cores() -> None:
    """processes × threads <= cores: two processes each running two threads on two cores
    would wait on each other through every matrix product."""
    from .. import threads

    explicit = threads._threads is not None or any(
        os.environ.get(name, "").strip() for name in ("CHAINRULE_NUM_THREADS", "OMP_NUM_THREADS")
    )
    if not explicit:
        threads.set_num_threads(max(1, threads.available_cpus() // _group.local_size))


def init_process_group(backend: str | None = "mpi", timeout: Any = None, **_: Any) -> None:
    """torch.distributed's spelling of :func:`init`: only the MPI backend exists here (rank and
    world size come from the launcher)."""
    if backend not in (None, "mpi", "gloo"):
        raise ConfigError(
            f"backend {backend!r} is not available: chainrule's process group runs on MPI "
            "(start the script with mpiexec -n N)"
        )
    init(timeout)


def destroy_process_group() -> None:
    """Leave the group (MPI itself finalises at exit)."""


def is_initialized() -> bool:
    return _group.initialized


def is_available() -> bool:
    """Whether mpi4py can be imported (the distributed extra is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def rank() -> int:
    """This process's rank in 0..world_size()-1 (0 without MPI)."""
    return _group.rank


def world_size() -> int:
    """How many processes train together (1 without MPI)."""
    return _group.size


def local_size() -> int:
    """How many of them run on this machine."""
    return _group.local_size


def is_main() -> bool:
    """Rank 0: the process that prints and writes files."""
    return _group.rank == 0


get_rank, get_world_size = rank, world_size


# ----------------------------------------------------------------------------- waiting
def wait(request: Any, what: str) -> None:
    """Wait for a non-blocking MPI request, with the group's deadline.

    MPI's own Wait has no timeout. This polls: MPI moves a message only while it is polled, so
    for the first 0.1 s it polls without pause (as MPI's Wait does); a longer wait (a slower
    rank, rank 0 writing a checkpoint) sleeps between polls, up to 1 ms, to leave the core."""
    if request.Test():
        return
    started = time.monotonic()
    deadline = started + _group.timeout
    pause = 0.0
    while not request.Test():
        now = time.monotonic()
        if now > deadline:
            fail(
                f"rank {_group.rank}: no reply from the other ranks in {what} for "
                f"{_group.timeout:g} s (a rank hangs, or died without the launcher noticing); "
                "stopping every rank"
            )
        if now - started > 0.1:
            pause = min(1e-3, pause + 1e-4)
            time.sleep(pause)


def fail(message: str, code: int = 2) -> None:
    """Print one line and stop every rank of the job (MPI_Abort); without MPI, raise."""
    if _group.comm is None:
        raise DistributedError(message, _group.rank)
    print(f"chainrule: error: {message}", file=sys.stderr, flush=True)
    _abort(code)


def _abort(code: int) -> None:
    # MPI_Abort kills every process at once, and mpiexec drops what it has not yet passed on of
    # their output: give it a moment to pass on the line just written.
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(0.2)
    _group.comm.Abort(code)


# ----------------------------------------------------------------------------- collectives
_OPS = {"sum": "SUM", "max": "MAX", "min": "MIN", "product": "PROD", "avg": "SUM"}


class ReduceOp:
    """torch.distributed.ReduceOp's names."""

    SUM, AVG, MAX, MIN, PRODUCT = "sum", "avg", "max", "min", "product"


def all_reduce_array(array: np.ndarray, op: str = "sum") -> np.ndarray:
    """Reduce a contiguous NumPy array over all ranks, in place; return it."""
    key = str(op).lower()
    if key not in _OPS:
        raise ConfigError(f"unknown reduce op {op!r}; choose one of {', '.join(_OPS)}")
    if _group.comm is not None and _group.size > 1:
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ConfigError("all_reduce needs a contiguous, writeable array")
        mpi = _group.mpi
        request = _group.comm.Iallreduce(mpi.IN_PLACE, array, op=getattr(mpi, _OPS[key]))
        wait(request, "all_reduce")
    if key == "avg":
        array /= array.dtype.type(_group.size) if array.dtype.kind == "f" else _group.size
    return array


def all_reduce(tensor: Any, op: str = "sum") -> Any:
    """torch.distributed.all_reduce: reduce a tensor (or NumPy array) over all ranks, in place."""
    array = tensor if isinstance(tensor, np.ndarray) else tensor.array
    if array.flags.c_contiguous and array.flags.writeable:
        all_reduce_array(array, op)
    else:
        array[...] = all_reduce_array(np.ascontiguousarray(array).copy(), op)
    if not isinstance(tensor, np.ndarray):
        from ..graph import bump_version

        bump_version(tensor)
    return tensor


def broadcast_array(array: np.ndarray, src: int = 0) -> np.ndarray:
    """Overwrite a contiguous array with rank src's, on every rank; return it."""
    if _group.comm is not None and _group.size > 1:
        request = _group.comm.Ibcast(array, root=src)
        wait(request, "broadcast")
    return array


def broadcast(tensor: Any, src: int = 0) -> Any:
    """torch.distributed.broadcast: every rank's tensor becomes rank src's, in place."""
    array = tensor if isinstance(tensor, np.ndarray) else tensor.array
    if array.flags.c_contiguous:
        broadcast_array(array, src)
    else:
        array[...] = broadcast_array(np.ascontiguousarray(array).copy(), src)
    return tensor


def barrier() -> None:
    """Wait until every rank gets here."""
    if _group.comm is not None and _group.size > 1:
        wait(_group.comm.Ibarrier(), "barrier")


_NOTHING = object()


def all_gather_object(value: Any, obj: Any = _NOTHING) -> Any:
    """Every rank's JSON-able value, in rank order, on every rank. JSON, never pickle: what
    crosses between processes is data, not code.

    ``all_gather_object(value)`` returns the list; PyTorch's ``all_gather_object(output_list,
    obj)`` fills ``output_list`` instead."""
    if obj is not _NOTHING:
        gathered = all_gather_object(obj)
        value[:] = gathered
        return None
    if _group.comm is None or _group.size == 1:
        return [json.loads(json.dumps(value))]
    payload = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)
    sizes = np.array([payload.size], dtype=np.int64)
    counts = np.zeros(_group.size, dtype=np.int64)
    wait(_group.comm.Iallgather(sizes, counts), "all_gather")
    received = np.empty(int(counts.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    mpi = _group.mpi
    request = _group.comm.Iallgatherv(payload, [received, counts, offsets, mpi.BYTE])
    wait(request, "all_gather")
    return [
        json.loads(received[o : o + c].tobytes().decode())
        for o, c in zip(offsets, counts, strict=True)
    ]


def broadcast_object(value: Any, src: int = 0) -> Any:
    """Rank src's JSON-able value, on every rank."""
    return all_gather_object(value if _group.rank == src else None)[src]


def broadcast_object_list(object_list: list[Any], src: int = 0) -> None:
    """PyTorch's spelling: object_list becomes rank src's, in place, on every rank."""
    object_list[:] = broadcast_object(list(object_list), src)


def agree(error: BaseException | None, what: str = "") -> None:
    """A point every rank reaches together: if any rank brings an error, every rank raises
    DistributedError with the first failing rank's message (so all stop with one line, and
    exit codes agree). Without MPI, the error is re-raised as it is."""
    if _group.size == 1:
        if error is not None:
            raise error
        return
    mine = None if error is None else f"{type(error).__name__}: {error}"
    if error is not None and isinstance(error, ChainruleError):
        mine = str(error)
    reports = all_gather_object(mine)
    for failed, text in enumerate(reports):
        if text is not None:
            where = f" ({what})" if what else ""
            raise DistributedError(f"rank {failed}{where}: {text}", failed) from error


def run_agreed(function: Callable[[], Any], what: str = "") -> Any:
    """Run function on every rank; if it raises on any, raise the agreed error on all."""
    try:
        result = function()
    except Exception as exc:  # every failure is reported through agree, then raised
        agree(exc, what)
        raise
    agree(None, what)
    return result
