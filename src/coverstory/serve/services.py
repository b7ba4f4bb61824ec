"""The library objects the handlers call, created lazily (first request), once, and
shared by every request. Any of them may be passed in instead (tests, embedding).

Handlers never hold logic of their own: they validate input, call one of these and shape
the answer (see docs/api.md).
"""

from __future__ import annotations

import importlib
import inspect
import threading
import weakref
from pathlib import Path
from typing import Any

from coverstory.serve.errors import ApiError

# name -> (module, class, what to do when missing)
FACTORIES = {
    "search": ("coverstory.search.service", "SearchService"),
    "recommend": ("coverstory.recommend.service", "RecommendService"),
    "dialogue": ("coverstory.dialogue.engine", "DialogueEngine"),
}


class Services:
    """Lazy holder of the catalog, SearchService, RecommendService and DialogueEngine."""

    def __init__(self, home: Path, *, catalog=None, search=None, recommend=None,
                 dialogue=None, policy: str = "default", photo_concurrency: int = 2):
        self.home = Path(home)
        self.photo_slots = threading.BoundedSemaphore(max(1, photo_concurrency))
        self.policy = policy
        self._given = {"catalog": catalog, "search": search, "recommend": recommend,
                       "dialogue": dialogue}
        self._made: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._session_locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._session_locks_guard = threading.Lock()

    # ---- the objects -----------------------------------------------------------------
    @property
    def catalog(self):
        if self._given["catalog"] is not None:
            return self._given["catalog"]
        with self._lock:
            if "catalog" not in self._made:
                from coverstory.catalog import Catalog

                self._made["catalog"] = Catalog.open(self.home)
            return self._made["catalog"]

    @property
    def search(self):
        return self._get("search")

    @property
    def recommend(self):
        return self._get("recommend")

    @property
    def dialogue(self):
        return self._get("dialogue")

    def loaded(self) -> dict[str, bool]:
        return {k: self._given.get(k) is not None or k in self._made
                for k in ("catalog", "search", "recommend", "dialogue")}

    def _get(self, name: str):
        if self._given[name] is not None:
            return self._given[name]
        made = self._made.get(name)
        if made is not None:
            return made
        with self._lock:
            if name not in self._made:
                self._made[name] = self._build(name)
            return self._made[name]

    def _build(self, name: str):
        module, cls_name = FACTORIES[name]
        try:
            cls = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError) as e:
            raise ApiError(503, f"{cls_name} is not available in this build ({e}); "
                                "install coverstory completely") from None
        kwargs: dict[str, Any] = {}
        params = _params(cls)
        if name == "dialogue":
            if "policy" in params:
                kwargs["policy"] = self.policy
            # share the services with the dialogue engine when it takes them; one that is
            # not available is left out (the engine then decides how to do without it)
            for dep in ("search", "recommend", "catalog"):
                if dep in params:
                    try:
                        kwargs[dep] = getattr(self, dep)
                    except ApiError:
                        pass
        elif "catalog" in params:
            kwargs["catalog"] = self.catalog
        return cls(self.home, **kwargs)

    def reset(self) -> None:
        """Forget the services built so far (after an import or a rebuild): the next request
        loads them again from the data home."""
        with self._lock:
            made, self._made = self._made, {}
        for obj in made.values():
            close = getattr(obj, "close", None)
            if callable(close) and not isinstance(obj, type):
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing an old object must not fail a job
                    pass

    def photo_work(self, fn, *args, **kwargs):
        """Run CPU-heavy photo analysis with at most ``photo_concurrency`` at once; then
        hand the memory freed by decoding back to the system."""
        try:
            with self.photo_slots:
                return fn(*args, **kwargs)
        finally:
            _release_memory()

    # ---- per-session serialisation -----------------------------------------------------
    def session_lock(self, session_id: str) -> "SessionLock":
        """One lock per chat session, so two requests of one reader never interleave."""
        with self._session_locks_guard:
            lock = self._session_locks.get(session_id)
            if lock is None:
                lock = SessionLock()
                self._session_locks[session_id] = lock
            return lock


class SessionLock:
    """A lock that can be held in a WeakValueDictionary (plain locks cannot)."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()
        return self

    def __exit__(self, *exc):
        self._lock.release()


def _release_memory() -> None:
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


def _params(cls) -> set[str]:
    try:
        return set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return set()
