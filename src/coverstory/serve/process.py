"""Process settings of a long-running server: threads per request, malloc tuning, and
handing freed heap memory back to the system."""

from __future__ import annotations

THREADS_SET_HERE = False       # serving_threads() set $COVERSTORY_THREADS (children: unset)


def serving_threads() -> None:
    """Threads for a server answering many small requests at once: each request's ONNX
    Runtime run, BLAS product and faiss search on one thread (requests run side by side on
    the cores; two-thread runs of tiny inputs only wait for each other and spin). Sets
    $COVERSTORY_THREADS (read when an encoder session is made) unless given, and limits the
    BLAS / OpenMP pools already loaded in this process. The server's child jobs get their
    own thread settings (coverstory.build, serve.jobs)."""
    import os

    from coverstory.config import setting, threads

    global THREADS_SET_HERE
    if not setting("threads").strip():
        os.environ["COVERSTORY_THREADS"] = "1"
        THREADS_SET_HERE = True
    n = threads()              # a bad value stops the server here, with the fix in its message
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except Exception:  # noqa: BLE001 - without threadpoolctl the pools keep their defaults
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except Exception:  # noqa: BLE001
        pass


def tune_malloc() -> None:
    """For a long-running server that swaps big services in and out (glibc only): large
    blocks always from mmap (glibc's default threshold grows after big frees, and the
    heap then keeps what reloads free) and at most 2 malloc arenas for the threads (reloads
    grew the process less with it in development trials; the server's RSS after a build
    and after a restart: docs/benchmarks/firstrun.md)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 1 << 20)           # M_MMAP_THRESHOLD: 1 MB, fixed
        libc.mallopt(-8, 2)                 # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def release_memory() -> None:
    """Return freed heap memory to the system (glibc keeps it per thread otherwise, so a
    burst of big uploads would leave the server hundreds of MB larger); no-op elsewhere."""
    global _malloc_trim
    if _malloc_trim is None:
        import ctypes
        import ctypes.util

        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None
