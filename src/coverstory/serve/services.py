"""The library objects the handlers call, shared by every request. Any of them may be
passed in instead (tests, embedding).

Two ways to make them:

- lazily, on first use (``create_app`` by default): the first request that needs a model
  waits for it;
- warm (``coverstory serve``: :meth:`Services.start_warmup`): a background thread
  (:class:`coverstory.serve.warmup.Warmup`) loads what
  the data home holds, in the order a reader needs it: the chat on words alone (the
  dialogue's book index and intent classifier: a few seconds), then the search service
  (text features, query encoder, cover index), the recommender, and the chat that uses
  them. Each is published once it has answered a warm-up call, so no request waits for a
  model load: until then the chat answers from words alone (the dialogue engine without
  search and recommender), and search, photo and recommendation requests wait at most
  ``wait_seconds`` (4 s), then answer 503 with Retry-After. After a build step (the server's background build) or an admin job,
  :meth:`Services.reload` loads new objects beside the old ones and swaps them in when warm.

Handlers never hold logic of their own: they validate input, call one of these and shape
the answer (see docs/api.md).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coverstory.registry import accepts, load
from coverstory.serve.errors import ApiError
from coverstory.serve.process import release_memory
from coverstory.serve.warmup import FACTORIES, NO_BOOKS, PARTS, RETRY_AFTER, Warmup, WordsOnly

__all__ = ["FACTORIES", "NO_BOOKS", "PARTS", "RETRY_AFTER", "Services", "SessionLock",
           "Warmup", "WordsOnly"]

if TYPE_CHECKING:                   # the contracts each service meets (coverstory.contracts)
    from coverstory.contracts import (DialogueService, RecommendService, SearchService,
                                      TextSearch)

log = logging.getLogger("coverstory.serve")


class Services:
    """Lazy holder of the catalog, SearchService, RecommendService and DialogueEngine."""

    def __init__(self, home: Path, *, catalog=None, search=None, recommend=None,
                 dialogue=None, policy: str = "default", photo_concurrency: int = 2,
                 cpu_workers: int = 2, wait_seconds: float = 4.0):
        from coverstory.serve.lanes import Lane

        self.home = Path(home)
        self.photo_slots = threading.BoundedSemaphore(max(1, photo_concurrency))
        # the threads requests' CPU work runs on, in arrival order (serve/lanes.py)
        self.cpu = Lane("cpu", cpu_workers)
        self.photos = Lane("photo", photo_concurrency)
        self.policy = policy
        self.wait_seconds = wait_seconds
        self._given = {"catalog": catalog, "search": search, "recommend": recommend,
                       "dialogue": dialogue}
        self._made: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._session_locks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._session_locks_guard = threading.Lock()
        self._warm: Warmup | None = None
        self.on_reload: list = []        # callables(parts): other worker processes reload
        self._photos_guard = threading.Lock()
        self._photos_in_flight = 0

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
    def search(self) -> SearchService:
        """The search service; during a warm start, until it is loaded, a 503 with
        Retry-After after at most ``wait_seconds`` (the chat answers on words meanwhile)."""
        if self._warm is None or self._given["search"] is not None:
            return self._get("search")
        return self._warm.require("search", self.wait_seconds)

    @property
    def recommend(self) -> RecommendService:
        if self._warm is None or self._given["recommend"] is not None:
            return self._get("recommend")
        return self._warm.require("recommend", self.wait_seconds)

    @property
    def dialogue(self) -> DialogueService:
        """The dialogue engine; during a warm start, until the search service and the
        recommender are loaded, the same engine without them (words only)."""
        if self._warm is None or self._given["dialogue"] is not None:
            return self._get("dialogue")
        full = self._warm.ready.get("dialogue")
        if full is not None:
            return full
        return self._warm.require("chat", self.wait_seconds)

    def text_search(self) -> TextSearch:
        """What answers ``GET /api/search``: the search service; while it loads (warm
        start), text search on words alone (BM25 and the ranker, no embeddings), so a
        search is answered at once rather than with a 503. Waits at most ``wait_seconds`` in
        all (it waited that long for each, 8 s, while a busy machine loaded the words)."""
        if self._warm is None or self._given["search"] is not None:
            return self.search
        full = self._warm.ready.get("search")
        if full is not None:
            return full
        deadline = time.monotonic() + self.wait_seconds
        words = self._warm.wait("lexical", self.wait_seconds)
        if words is not None and self._warm.ready.get("search") is None:
            return words
        return self._warm.require("search", max(0.0, deadline - time.monotonic()))

    def photo_dialogue(self) -> DialogueService:
        """The dialogue engine for a photo turn: 503 (Retry-After) while photo search loads."""
        if self._warm is None or self._given["dialogue"] is not None:
            return self.dialogue
        return self._require_all("photo", "dialogue")

    def photo_search(self) -> SearchService:
        """The search service for a photo query: 503 (Retry-After) while photo search loads."""
        if self._warm is None or self._given["search"] is not None:
            return self.search
        return self._require_all("photo", "search")

    def _require_all(self, *parts: str):
        """The last of ``parts`` once all are loaded, waiting ``wait_seconds`` in all."""
        deadline = time.monotonic() + self.wait_seconds
        for part in parts:
            got = self._warm.require(part, max(0.0, deadline - time.monotonic()))
        return got

    def loaded(self) -> dict[str, bool]:
        if self._warm is not None:
            ready = self._warm.ready
            return {"catalog": True,
                    **{k: self._given.get(k) is not None or k in ready
                       for k in ("search", "recommend", "dialogue")}}
        return {k: self._given.get(k) is not None or k in self._made
                for k in ("catalog", "search", "recommend", "dialogue")}

    # ---- warm start ------------------------------------------------------------------------
    def start_warmup(self, building: bool = False) -> "Warmup":
        """Load every service in a background thread (see the module docstring);
        ``building``: a background build is making what is missing (the recommender is then
        not fitted in here meanwhile)."""
        with self._lock:
            if self._warm is None:
                self._warm = Warmup(self, building=building)
                self._warm.start()
            return self._warm

    @property
    def warmup(self) -> "Warmup | None":
        return self._warm

    def reload(self, parts: tuple[str, ...] = ("search", "recommend"),
               announce: bool = True) -> None:
        """Load new search / recommend services from the data home beside the old ones and
        swap them in when warm (warm start), else forget them (lazy: the next request
        loads them). ``announce``: also tell the other worker processes (``on_reload``)."""
        if self._warm is not None:
            self._warm.reload(parts)
        else:
            self.reset(announce=False)
        if announce:
            self._announce(parts)

    def _announce(self, parts) -> None:
        for hook in list(self.on_reload):
            try:
                hook(tuple(parts))
            except Exception:  # noqa: BLE001 - the others reload at their next change
                log.exception("announcing a reload")

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
        try:
            cls = load(FACTORIES[name])
        except (ImportError, AttributeError) as e:
            raise ApiError(503, f"{FACTORIES[name]} is not available in this build ({e}); "
                                "install coverstory completely") from None
        kwargs: dict[str, Any] = {}
        params = accepts(cls)
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

    def reset(self, announce: bool = True) -> None:
        """Forget the services built so far (after an import or a rebuild): the next request
        loads them again from the data home (with a warm start: loaded again in the
        background, the old ones answering meanwhile)."""
        if announce:
            self._announce(("chat", "search", "recommend"))
        if self._warm is not None:
            self._warm.reload(("chat", "search", "recommend"))
            return
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
        hand the memory freed by decoding back to the system (by the last photo of a burst:
        trimming the heap locks every malloc arena, so other requests wait meanwhile)."""
        with self._photos_guard:
            self._photos_in_flight += 1
        try:
            with self.photo_slots:
                return fn(*args, **kwargs)
        finally:
            with self._photos_guard:
                self._photos_in_flight -= 1
                last = self._photos_in_flight == 0
            if last:
                release_memory()

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
