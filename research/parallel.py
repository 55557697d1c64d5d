"""Run many independent tasks on Dask (``dask.distributed``), a bounded number at a time.

``scheduler``:

* ``None`` — a :class:`~distributed.LocalCluster` of :data:`LOCAL_WORKERS` worker
  processes with one thread each, started for the call and shut down after it;
* ``"tcp://host:port"`` (any address ``distributed.Client`` takes) — a running cluster;
* ``"synchronous"`` — no Dask at all: tasks run one after another in this process
  (debugging, tests, tiny grids).

Only a window of tasks is in flight at once (a few per worker thread), and each result
is handed back and released as soon as it finishes, so memory stays bounded however
large the grid. A task that raises — or whose worker dies — comes back as the
exception, in its own slot; the other tasks are unaffected.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["LOCAL_WORKERS", "SYNCHRONOUS", "map_unordered", "progress_bar"]

SYNCHRONOUS = "synchronous"
LOCAL_WORKERS = 2
TASKS_PER_THREAD = 4

T = TypeVar("T")
R = TypeVar("R")


def map_unordered(
    function: Callable[..., R],
    items: Sequence[T],
    *,
    scheduler: str | None = None,
    shared: Mapping[str, object] | None = None,
) -> Iterator[tuple[int, R | Exception]]:
    """``function(item, **shared)`` for every item, yielded as ``(position, result)`` in
    completion order. ``shared`` values (e.g. the bars) are sent to each worker once."""
    if not items:
        return iter(())
    if scheduler == SYNCHRONOUS:
        return _run_here(function, items, shared or {})
    return _run_on_dask(function, items, scheduler, shared or {})


@contextmanager
def dask_client(scheduler: str | None) -> Iterator[Client]:
    """A client of a fresh local cluster (``None``) or of the cluster at ``scheduler``."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        with (
            LocalCluster(
                n_workers=LOCAL_WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # our own short-lived cluster: its nanny warns when a worker with vectorbt
                # loaded takes over 4 s to exit at shutdown; a task's real failures
                # (exceptions, dead workers) are reported in the task's slot instead
                silence_logs=logging.ERROR,
            ) as cluster,  # type: ignore[no-untyped-call]
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client
    else:
        with Client(scheduler) as client:  # type: ignore[no-untyped-call]
            yield client


@contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr; yields the function that advances it by one."""
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=sys.stderr), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def _run_here(
    function: Callable[..., R], items: Sequence[T], shared: Mapping[str, object]
) -> Iterator[tuple[int, R | Exception]]:
    for position, item in enumerate(items):
        try:
            yield position, function(item, **shared)
        except Exception as exc:  # reported in the task's slot, like a failed Dask task
            yield position, exc


def _run_on_dask(
    function: Callable[..., R], items: Sequence[T], scheduler: str | None, shared: Mapping[str, object]
) -> Iterator[tuple[int, R | Exception]]:
    from distributed import as_completed

    with dask_client(scheduler) as client:
        # distributed's Client API is only partly annotated
        scattered = {name: client.scatter(value, broadcast=True) for name, value in shared.items()}  # type: ignore[no-untyped-call]
        window = TASKS_PER_THREAD * max(1, sum(client.nthreads().values()))  # type: ignore[no-untyped-call]
        queue = iter(enumerate(items))
        positions: dict[Future[R], int] = {}
        running = as_completed()  # type: ignore[no-untyped-call]

        def submit_next() -> None:
            for position, item in queue:
                future = client.submit(function, item, pure=False, **scattered)
                positions[future] = position
                running.add(future)  # type: ignore[no-untyped-call]
                return

        for _ in range(window):
            submit_next()
        for future in running:
            yield positions.pop(future), _outcome(future)
            future.release()
            submit_next()


def _outcome(future: Future[R]) -> R | Exception:
    try:
        return future.result()
    except Exception as exc:  # a task that raised, or a worker that died under it
        return exc
