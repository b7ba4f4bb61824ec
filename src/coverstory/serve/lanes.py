"""Where a request's CPU work runs: a few worker threads that take the work in arrival order
(bounded FIFO executors, "lanes"), instead of one pool thread per request.

Why: in one process the GIL lets one thread run Python at a time. With a thread per
request (Starlette's pool has 40), ten requests in flight are ten threads contending for
the GIL on two cores, and a request that lets go of the GIL often (each SQLite step, each
numpy or ONNX call) waits for it again after each release, behind all the others: the
requests that touch the catalog most finish last, and the slowest ones set the p95.
A lane has a fixed number of threads; the rest of the work queues in the order it came
and then runs with little contention.

Two lanes by default (``ServeSettings``):

- ``cpu`` (``cpu_workers`` threads): chat turns and text searches;
- ``photo`` (``photo_concurrency`` threads): decoding and analysing uploaded photos (SIFT
  matching, the cover CNN), so a burst of photos waits for its own threads and cannot fill
  the chat's.

Context variables (the catalog's write wait, ``coverstory.catalog.store.write_wait``)
travel with the work, as with ``run_in_threadpool``. Work whose request was cancelled
before it started is skipped.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from concurrent.futures import Future, ThreadPoolExecutor


class Lane:
    """A bounded FIFO executor: ``workers`` threads named ``coverstory-<name>-N`` run the
    submitted calls in the order they were submitted; the others wait in the queue."""

    def __init__(self, name: str, workers: int):
        self.name = name
        self.workers = max(1, int(workers))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"coverstory-{name}")
        self._guard = threading.Lock()
        self.waiting = 0            # submitted, not started yet
        self.running = 0
        self.done = 0
        self.most_waiting = 0       # the longest the queue has been

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Queue ``fn(*args, **kwargs)`` (in the caller's context); its Future."""
        ctx = contextvars.copy_context()
        with self._guard:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        fut = self._pool.submit(self._call, ctx, functools.partial(fn, *args, **kwargs))
        fut.add_done_callback(self._forget_if_cancelled)
        return fut

    async def run(self, fn, /, *args, **kwargs):
        """Await ``fn(*args, **kwargs)`` run on the lane (from the event loop)."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    def _call(self, ctx: contextvars.Context, call):
        with self._guard:
            self.waiting -= 1
            self.running += 1
        try:
            return ctx.run(call)
        finally:
            with self._guard:
                self.running -= 1
                self.done += 1

    def _forget_if_cancelled(self, fut: Future) -> None:
        if fut.cancelled():              # never started: _call did not count it out
            with self._guard:
                self.waiting -= 1

    def status(self) -> dict:
        with self._guard:
            return {"workers": self.workers, "running": self.running, "waiting": self.waiting,
                    "done": self.done, "most_waiting": self.most_waiting}

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
