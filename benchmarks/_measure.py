"""Run a function in a fresh process and report wall time and peak resident memory."""

from __future__ import annotations

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
