"""The library objects the handlers call, shared by every request. Any of them may be
passed in instead (tests, embedding).

Two ways to make them:

- lazily, on first use (``create_app`` by default): the first request that needs a model
  waits for it;
- warm (``coverstory serve``: :meth:`Services.start_warmup`): a background thread loads what
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

import importlib
import inspect
import logging
import queue
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from coverstory.serve.errors import ApiError

log = logging.getLogger("coverstory.serve")
RETRY_AFTER = 5            # seconds, on a 503 for a part that is still loading
# the parts of a warm start, in loading order, with what a reader sees of each
PARTS: dict[str, str] = {
    "chat": "the chat (words: titles, authors, tags, descriptions)",
    "search": "text search with book embeddings",
    "recommend": "the recommender",
    "dialogue": "the chat with embeddings and the recommender",
    "photo": "photo search",
}

NO_BOOKS = ("the catalog has no books: import first: coverstory import goodbooks|csv|jsonl "
            "PATH (docs/import.md)")

# name -> (module, class, what to do when missing)
FACTORIES = {
    "search": ("coverstory.search.service", "SearchService"),
    "recommend": ("coverstory.recommend.service", "RecommendService"),
    "dialogue": ("coverstory.dialogue.engine", "DialogueEngine"),
}


class Services:
    """Lazy holder of the catalog, SearchService, RecommendService and DialogueEngine."""

    def __init__(self, home: Path, *, catalog=None, search=None, recommend=None,
                 dialogue=None, policy: str = "default", photo_concurrency: int = 2,
                 wait_seconds: float = 4.0):
        self.home = Path(home)
        self.photo_slots = threading.BoundedSemaphore(max(1, photo_concurrency))
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
    def search(self):
        """The search service; during a warm start, until it is loaded, a 503 with
        Retry-After after at most ``wait_seconds`` (the chat answers on words meanwhile)."""
        if self._warm is None or self._given["search"] is not None:
            return self._get("search")
        return self._warm.require("search", self.wait_seconds)

    @property
    def recommend(self):
        if self._warm is None or self._given["recommend"] is not None:
            return self._get("recommend")
        return self._warm.require("recommend", self.wait_seconds)

    @property
    def dialogue(self):
        """The dialogue engine; during a warm start, until the search service and the
        recommender are loaded, the same engine without them (words only)."""
        if self._warm is None or self._given["dialogue"] is not None:
            return self._get("dialogue")
        full = self._warm.ready.get("dialogue")
        if full is not None:
            return full
        return self._warm.require("chat", self.wait_seconds)

    def text_search(self):
        """What answers ``GET /api/search``: the search service; while it loads (warm
        start), text search on words alone (BM25 and the ranker, no embeddings), so a
        search is answered at once rather than with a 503."""
        if self._warm is None or self._given["search"] is not None:
            return self.search
        full = self._warm.ready.get("search")
        if full is not None:
            return full
        words = self._warm.wait("lexical", self.wait_seconds)
        if words is not None and self._warm.ready.get("search") is None:
            return words
        return self._warm.require("search", self.wait_seconds)

    def photo_dialogue(self):
        """The dialogue engine for a photo turn: 503 (Retry-After) while photo search loads."""
        if self._warm is None or self._given["dialogue"] is not None:
            return self.dialogue
        self._warm.require("photo", self.wait_seconds)
        return self._warm.require("dialogue", self.wait_seconds)

    def photo_search(self):
        """The search service for a photo query: 503 (Retry-After) while photo search loads."""
        if self._warm is None or self._given["search"] is not None:
            return self.search
        self._warm.require("photo", self.wait_seconds)
        return self._warm.require("search", self.wait_seconds)

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


class Warmup:
    """Loads the services of a :class:`Services` in one background thread; ``ready`` holds
    what is published (part -> object), ``status()`` says what is loading and how long."""

    def __init__(self, services: Services, building: bool = False):
        self.svc = services
        self.building = building          # a background build will make what is missing
        self.ready: dict[str, Any] = {}
        # PARTS, and "lexical": words-only text search while "search" loads (internal)
        self.states: dict[str, dict] = {p: {"state": "waiting"} for p in (*PARTS, "lexical")}
        self._events = {p: threading.Event() for p in self.states}
        self._tasks: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="coverstory-warmup",
                                        daemon=True)
        self.started = time.time()

    def start(self) -> None:
        self._tasks.put(("chat", "search", "recommend"))
        self._thread.start()

    def reload(self, parts) -> None:
        self._tasks.put(tuple(parts))

    # ---- what requests use -----------------------------------------------------------------
    def wait(self, part: str, seconds: float):
        """The published object of a part, waiting at most ``seconds`` for a first load."""
        got = self.ready.get(part)
        if got is None and self.states[part]["state"] in ("waiting", "loading"):
            self._events[part].wait(seconds)
            got = self.ready.get(part)
        return got

    def require(self, part: str, seconds: float):
        got = self.wait(part, seconds)
        if got is not None:
            return got
        st = self.states[part]
        if st["state"] in ("missing", "failed"):
            raise ApiError(503, f"{PARTS[part]} is not available: {st.get('note', '')}".strip())
        since = time.time() - st.get("since", self.started)
        raise ApiError(503, f"{PARTS[part]} is still loading ({since:.0f} s so far); the chat "
                            f"answers from words meanwhile; try again in a few seconds",
                       headers={"Retry-After": str(RETRY_AFTER)})

    def busy(self) -> bool:
        return (any(s["state"] in ("waiting", "loading") for s in self.states.values())
                or not self._tasks.empty())

    def status(self) -> dict[str, dict]:
        now = time.time()
        out = {}
        for part, st in self.states.items():
            if part not in PARTS:
                continue
            d = {k: v for k, v in st.items() if k != "since"}
            if st["state"] == "loading":
                d["seconds"] = round(now - st["since"], 1)
            out[part] = d
        return out

    # ---- the loading thread --------------------------------------------------------------
    def _set(self, part: str, state: str, **info) -> None:
        prev = self.states[part]
        st = {"state": state, "since": time.time() if state == "loading" else prev.get("since")}
        if state != "loading" and prev.get("since"):
            st["seconds"] = round(time.time() - prev["since"], 1)
        st.update(info)
        if state == "loading" and part in self.ready:
            st["note"] = "reloading; the loaded one answers meanwhile"
        self.states[part] = st
        if state in ("ready", "missing", "failed"):
            self._events[part].set()

    def _publish(self, part: str, obj, **info) -> None:
        self.ready[part] = obj
        self._set(part, "ready", **info)

    def _loop(self) -> None:
        while True:
            parts = set(self._tasks.get())
            while not self._tasks.empty():          # several reloads queued: load once
                parts |= set(self._tasks.get_nowait())
            try:
                self._load(parts)
            except Exception:  # noqa: BLE001 - the loader must survive for the next reload
                log.exception("warm-up failed")
            finally:
                import gc

                # the replaced services sit in reference cycles; what stays loaded is frozen
                # out of the collector (a full collection over millions of loaded objects
                # held the GIL for every request meanwhile)
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                _release_memory()

    def _load(self, parts: set[str]) -> None:
        if not self._has_books():
            # nothing to load (an empty home): say what to do, no model tracebacks; an
            # import (admin job) reloads every part
            for part in self.states:
                self.ready.pop(part, None)
                self._set(part, "missing", note=NO_BOOKS)
            return
        if "chat" in parts or "chat" not in self.ready:
            self._step("chat", self._load_chat)
        search = self.ready.get("search")
        if search is None and "lexical" not in self.ready:
            self._set("search", "loading")         # its first, words-only stage
            self._step("lexical", self._load_lexical)
        if "search" in parts or search is None:
            search = self._step("search", self._load_search) or search
            if search is not None:
                self.ready.pop("lexical", None)      # the full one answers from now on
        rec = self.ready.get("recommend")
        if "recommend" in parts or rec is None:
            rec = self._step("recommend", self._load_recommend) or rec
        if "search" in parts or "recommend" in parts or "dialogue" not in self.ready:
            self._step("dialogue", lambda: self._load_dialogue(search, rec))
        for part, st in self.states.items():        # nothing stays "loading" forever
            if st["state"] in ("waiting", "loading"):
                self._set(part, "missing" if part in self.ready or part == "photo" else "failed",
                          note=st.get("note") or "not loaded: see the server log")

    def _has_books(self) -> bool:
        try:
            return self.svc.catalog.conn.execute("SELECT 1 FROM books LIMIT 1").fetchone() \
                is not None
        except Exception:  # noqa: BLE001 - an unreadable catalog: the loaders say why
            return True

    def _step(self, part: str, fn):
        self._set(part, "loading")
        t0 = time.time()
        try:
            got = fn()
        except ApiError as e:
            self._set(part, "missing", note=e.message)
            return None
        except FileNotFoundError as e:
            self._set(part, "missing", note=str(e))
            return None
        except Exception as e:  # noqa: BLE001 - shown in /healthz and the log
            log.exception("loading %s failed", part)
            self._set(part, "failed", note=f"{type(e).__name__}: {e}"[:300])
            return None
        log.info("%s ready in %.1f s", part, time.time() - t0)
        return got

    def _load_chat(self):
        from coverstory.dialogue.engine import DialogueEngine

        eng = DialogueEngine(self.svc.home, policy=self.svc.policy, search=False,
                             recommend=False, catalog=self.svc.catalog)
        eng.index
        eng.nlu
        eng.signals.coreaders               # built before the first "like", not during it
        self._publish("chat", eng, note="words only until the models are loaded")
        return eng

    def _load_lexical(self):
        """Text search on words alone (the saved BM25 indexes and the ranker; no embeddings,
        no passages): answers /api/search while the search service loads."""
        from coverstory.search.service import (DESCRIPTION_FEATURE, TEXT_FEATURE,
                                               TITLE_FEATURE)

        if self.svc._given["search"] is not None:
            raise ApiError(503, "a search service is given")
        module, cls_name = FACTORIES["search"]
        search = getattr(importlib.import_module(module), cls_name)(self.svc.home,
                                                                    log=lambda m: None)
        for feature in (TEXT_FEATURE, TITLE_FEATURE, DESCRIPTION_FEATURE):
            search._vectors[feature] = None   # words only: no feature is loaded or computed
        search.passages = lambda books=None: None
        words = WordsOnly(search.text_search)
        words.text("warm up", k=1)
        self._publish("lexical", words, note="words only while the search service loads")
        return words

    def _load_search(self):
        from PIL import Image

        from coverstory.search.service import TEXT_FEATURE

        search = self.svc._given["search"] or self.svc._build("search")
        search.text("warm up", k=1)
        semantic = search.features(TEXT_FEATURE, allow_compute=False) is not None
        if semantic:
            search.embed_query("warm up")
        photo_note = None
        self._set("photo", "loading")
        if self.building and not (self.svc.home / "indexes" / "cover.npz").exists():
            # the build makes the cover index; building one in here would import torch to
            # export the photo embedder (hundreds of MB the server keeps)
            photo_note = "the background build is making the cover index"
        else:
            try:
                search.photo(Image.new("RGB", (64, 96), (120, 90, 60)), k=1)
            except Exception as e:  # noqa: BLE001 - photo search may be unbuilt; text still works
                photo_note = f"{type(e).__name__}: {e}"[:300]
        self._publish("search", search, note=None if semantic else
                      "words only: the book text embeddings are not built yet")
        if photo_note is None:
            self._publish("photo", search)
        else:
            self.ready.pop("photo", None)
            self._set("photo", "missing", note=photo_note)
        return search

    def _load_recommend(self):
        if self.building and self.svc._given["recommend"] is None:
            from coverstory.recommend.service import MODEL_DIR

            if not (self.svc.home / MODEL_DIR / "config.json").exists():
                # not fitted yet: the background build fits it (no stop-gap model in here)
                raise ApiError(503, "not built yet: the background build fits it")
        rec = self.svc._given["recommend"] or self.svc._build("recommend")
        getattr(rec, "model", None)
        self._publish("recommend", rec)
        return rec

    def _load_dialogue(self, search, rec):
        from coverstory.dialogue.engine import DialogueEngine

        if self.svc._given["dialogue"] is not None:
            eng = self.svc._given["dialogue"]
        else:
            eng = DialogueEngine(self.svc.home, policy=self.svc.policy,
                                 search=search if search is not None else False,
                                 recommend=rec if rec is not None else False,
                                 catalog=self.svc.catalog)
            eng.index
            eng.nlu
            eng.signals.coreaders
        missing = [PARTS[p] for p, o in (("search", search), ("recommend", rec)) if o is None]
        self._publish("dialogue", eng, note=f"without {' and '.join(missing)}" if missing
                      else None)
        return eng


class WordsOnly:
    """Text search on words alone (``Warmup._load_lexical``): the search contract's
    ``text``, nothing else."""

    def __init__(self, text_search):
        self.ts = text_search

    def text(self, query: str, k: int = 10, exclude=()) -> list:
        return self.ts.search(query, k=k, exclude=exclude)


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


THREADS_SET_HERE = False       # serving_threads() set $COVERSTORY_THREADS (children: unset)


def serving_threads() -> None:
    """Threads for a server answering many small requests at once: each request's ONNX
    Runtime run, BLAS product and faiss search on one thread (requests run side by side on
    the cores; two-thread runs of tiny inputs only wait for each other and spin). Sets
    $COVERSTORY_THREADS (read when an encoder session is made) unless given, and limits the
    BLAS / OpenMP pools already loaded in this process. The server's child jobs get their
    own thread settings (coverstory.build, serve.jobs)."""
    import os

    global THREADS_SET_HERE
    if not os.environ.get("COVERSTORY_THREADS", "").strip():
        os.environ["COVERSTORY_THREADS"] = "1"
        THREADS_SET_HERE = True
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(os.environ["COVERSTORY_THREADS"]))
    except Exception:  # noqa: BLE001 - without threadpoolctl the pools keep their defaults
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(int(os.environ["COVERSTORY_THREADS"]))
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
