"""Section ``compute``: how the per-partition work of a stage runs (here, or on Dask).

A compute engine is a way of running the *same* library function once per partition (a hash
bucket of applicants, a batch of feature rows); it never forks the library. ``local`` runs the
partitions one after the other in this process; ``dask`` submits them to a Dask cluster (a
``LocalCluster`` sized to this machine, or a scheduler at ``compute.scheduler``), at most a few
at a time, and hands the results back in partition order, so that the outputs are the same
bytes whichever engine made them. Dask is imported only when it is used.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol

from rich.progress import Progress

from features.config import settings
from features.partitions import MAX_BUCKETS
from pipeline.console import console, progress


@settings
class ComputeSettings:
    """Section ``compute`` of params.yaml.

    ``partitions`` (hash buckets of the applicant id) shapes the data the ``generate`` stage
    writes; ``engine``, ``scheduler`` and ``workers`` only choose where the work runs and never
    change an output (the DVC stages do not depend on them)."""

    engine: Literal["local", "dask"] = "local"
    scheduler: str = ""
    workers: int = 0
    partitions: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.partitions <= MAX_BUCKETS:
            raise ValueError(
                f"partitions must be between 1 and {MAX_BUCKETS}; got {self.partitions}"
            )
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0 (0: one per core); got {self.workers}")
        if self.scheduler and "://" not in self.scheduler:
            raise ValueError(
                "scheduler must be empty (a local cluster) or an address such as "
                f"tcp://host:8786; got {self.scheduler!r}"
            )


class Engine(Protocol):
    def map(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        *args: Any,
        label: str = "",
        total: int | None = None,
    ) -> Iterator[Any]:
        """``fn(item, *args)`` for every item (taken lazily), results in the order of
        ``items``; ``total`` sizes the progress bar when ``items`` has no length."""

    def share(self, obj: Any) -> Any:
        """``obj`` as an argument for :meth:`map` (sent to the workers once, not per task)."""


class LocalEngine:
    """Partition after partition in this process."""

    def __init__(self, bar: Progress):
        self.bar = bar

    def map(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        *args: Any,
        label: str = "",
        total: int | None = None,
    ) -> Iterator[Any]:
        task = self.bar.add_task(label or fn.__name__, total=_total(items, total))
        for item in items:
            yield fn(item, *args)
            self.bar.advance(task)

    def share(self, obj: Any) -> Any:
        return obj


def _total(items: Iterable[Any], total: int | None) -> int | None:
    return len(items) if total is None and hasattr(items, "__len__") else total


class DaskEngine:
    """Partitions as Dask tasks: a bounded window in flight, results in partition order."""

    def __init__(self, client: Any, bar: Progress):
        self.client, self.bar = client, bar
        workers = client.scheduler_info().get("workers", {})
        self.window = max(2, 2 * sum(w.get("nthreads", 1) for w in workers.values()))

    def map(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        *args: Any,
        label: str = "",
        total: int | None = None,
    ) -> Iterator[Any]:
        pending: deque = deque()
        todo = iter(items)
        task = self.bar.add_task(f"{label or fn.__name__} (dask)", total=_total(items, total))
        for item in todo:
            pending.append(self.client.submit(fn, item, *args, pure=False))
            if len(pending) >= self.window:
                break
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            item = next(todo, _END)
            if item is not _END:
                pending.append(self.client.submit(fn, item, *args, pure=False))
            self.bar.advance(task)
            yield result

    def share(self, obj: Any) -> Any:
        return self.client.scatter(obj, broadcast=True, hash=False)


_END = object()


@contextmanager
def engine(cfg: ComputeSettings) -> Iterator[Engine]:
    """The engine ``cfg`` names, with its cluster started (and stopped) around the block."""
    with progress() as bar:
        if cfg.engine == "local":
            yield LocalEngine(bar)
            return
        from dask.distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.WARNING)
        if cfg.scheduler:
            with Client(cfg.scheduler) as client:
                console.print(f"dask: scheduler {cfg.scheduler}, dashboard {client.dashboard_link}")
                yield DaskEngine(client, bar)
            return
        workers = cfg.workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.WARNING,
            ) as cluster,
            Client(cluster) as client,
        ):
            console.print(
                f"dask: local cluster of {workers} worker process(es), dashboard "
                f"{client.dashboard_link}"
            )
            yield DaskEngine(client, bar)
