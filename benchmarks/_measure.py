"""Run a function in a fresh process and report wall time and peak resident memory."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from typing import Any


def _child(fn: Callable[..., Any], args: tuple, queue: mp.Queue) -> None:
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, peak_kib / 1024**2, result))


def measure(fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    """(seconds, peak GiB, result) of ``fn(*args)`` run in a fresh spawned process."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    seconds, peak_gib, result = queue.get()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"benchmark process failed with exit code {proc.exitcode}")
    return seconds, peak_gib, result


def measure_tree(
    fn: Callable[..., Any], *args: Any, interval: float = 0.2
) -> tuple[float, float, Any]:
    """(seconds, peak GiB, result) of ``fn(*args)`` in a fresh process, the peak being the
    largest sum of resident memory over that process and all its descendants (Dask workers,
    scheduler), sampled every ``interval`` seconds, and never below the process's own peak."""
    import threading

    import psutil

    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    seconds, own_gib, result = queue.get()
    done.set()
    sampler.join()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"benchmark process failed with exit code {proc.exitcode}")
    return seconds, max(own_gib, peak[0] / 1024**3), result
