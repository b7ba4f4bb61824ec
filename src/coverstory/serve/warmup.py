"""The warm start of :class:`coverstory.serve.services.Services`: one background thread
loads the services in the order a reader needs them and publishes each once it has answered
a warm-up call (see the docstring of serve/services.py); requests wait for a part at most a
few seconds, then get a 503 with Retry-After.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from coverstory.registry import load
from coverstory.serve.errors import ApiError
from coverstory.serve.process import release_memory

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

# name -> the class (coverstory.registry spec) implementing coverstory.contracts' service
FACTORIES = {
    "search": "coverstory.search.service:SearchService",
    "recommend": "coverstory.recommend.service:RecommendService",
    "dialogue": "coverstory.dialogue.engine:DialogueEngine",
}


class Warmup:
    """Loads the services of a :class:`Services` in one background thread; ``ready`` holds
    what is published (part -> object), ``status()`` says what is loading and how long."""

    def __init__(self, services, building: bool = False):
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
                release_memory()

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
            return self.svc.catalog.count_books() > 0
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
        search = load(FACTORIES["search"])(self.svc.home, log=lambda m: None)
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
        # what the first "something like X" would build on a request thread (its indexes,
        # ~0.3 s holding the GIL; 50 readers' first requests all waited for it)
        getattr(search, "similar_search", None)
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
            from coverstory.artifacts import recommender_saved

            if not recommender_saved(self.svc.home):
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
            if len(eng.index):
                _index_caches(eng.index)
        missing = [PARTS[p] for p, o in (("search", search), ("recommend", rec)) if o is None]
        self._publish("dialogue", eng, note=f"without {' and '.join(missing)}" if missing
                      else None)
        return eng


def _index_caches(index) -> None:
    """Build the dialogue's per-index lookups now, not in the first turns that need them:
    the title and author finder (~0.5 s of Python), the series and the editions table
    (~0.1 s each). Built on a request thread, each held the GIL while 50 readers' first
    requests waited (and two threads could build the same one)."""
    from coverstory.dialogue.constraints import editions
    from coverstory.dialogue.lookup import finder

    for name, build in (("finder", lambda: finder(index)), ("series", lambda: index.series),
                        ("editions", lambda: editions(index, int(index.ids[0])))):
        try:
            build()
        except Exception:  # noqa: BLE001 - the first turn that needs it builds it then
            log.warning("warm-up: building the dialogue's %s failed", name, exc_info=True)


class WordsOnly:
    """Text search on words alone (``Warmup._load_lexical``): the search contract's
    ``text``, nothing else."""

    def __init__(self, text_search):
        self.ts = text_search

    def text(self, query: str, k: int = 10, exclude=()) -> list:
        return self.ts.search(query, k=k, exclude=exclude)
