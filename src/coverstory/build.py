"""``coverstory build TARGET``: each target maps to the library function that builds it.

``lexical`` is what the chat needs to answer at all: the dialogue's book index, the intent
classifier and the BM25 index (about a minute for 10,000 books, most of it the book index).
What improves the answers afterwards is :data:`PLAN`: steps with their dependencies. ``build
all`` runs them one after another in this process; ``build all --jobs N`` (and the server's
background build, ``coverstory serve --build``) runs them as ``coverstory build ...``
subprocesses, independent steps side by side, each with its share of the CPU threads.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from coverstory.artifacts import COVER_FEATURE, TEXT_FEATURE, TITLE_FEATURE
from coverstory.errors import CommandError

# target -> (module, function, help). Each function takes argparse args, returns a dict.
TARGETS: dict[str, tuple[str, str, str]] = {
    "features": ("coverstory.encoders.commands", "build_features",
                 "extract (cached) features of every book for an encoder"),
    "ocr": ("coverstory.encoders.commands", "build_ocr", "read the text printed on every cover"),
    "fusion": ("coverstory.fusion.commands", "build_fusion",
               "train a fusion model and export fused book vectors"),
    "index": ("coverstory.search.commands", "build_index", "build the search indexes"),
    "recommender": ("coverstory.recommend.commands", "build_recommender",
                    "fit the recommender on the catalog's ratings"),
    "intents": ("coverstory.dialogue.commands", "build_intents", "train the intent classifier"),
    "lexical": ("coverstory.build", "build_lexical",
                "what the chat needs to answer on words alone (book index, intents, BM25)"),
}
ALL = ["features", "index", "recommender", "intents"]


@dataclass(frozen=True)
class Step:
    """One step of the background build: ``coverstory build ARGV`` once ``needs`` are done.

    ``outputs`` (paths under the home): the step is skipped when they all exist and no
    step it needs changed anything; steps without outputs always run (they are
    incremental). ``reloads``: the server's services to load again afterwards.
    ``all_cpus``: the step gets every CPU thread, not a share. The embedding and keypoint
    steps do: their work is spread over independent one-thread workers (ONNX Runtime
    sessions, SIFT processes) that never spin-wait, so two of them side by side share the
    cores at no loss, and when one ends the other has the free core at once (with a share
    fixed at its start, a step left alone ran on one core while the other idled). The
    recommender does too (it runs at the end, mostly alone)."""

    name: str
    argv: tuple[str, ...]
    needs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    reloads: tuple[str, ...] = ()
    all_cpus: bool = False


TEXT = (TEXT_FEATURE, TITLE_FEATURE)
COVER = COVER_FEATURE
PLAN: tuple[Step, ...] = (
    Step("book text embeddings", ("features", "--encoder", TEXT[0], "--encoder", TEXT[1]),
         reloads=("search",), all_cpus=True),
    Step("cover embeddings", ("features", "--encoder", COVER), all_cpus=True),
    Step("cover keypoints", ("index", "--method", "local"), reloads=("search",),
         all_cpus=True),
    Step("description passages", ("index", "--method", "passages"), reloads=("search",),
         all_cpus=True),
    Step("vector indexes", ("index", "--method", "vectors"),
         needs=("book text embeddings", "cover embeddings"),
         outputs=("indexes/text.npz", "indexes/cover.npz"), reloads=("search",)),
    Step("recommender", ("recommender",), needs=("book text embeddings", "cover embeddings"),
         outputs=("models/recommender/config.json",), reloads=("recommend",), all_cpus=True),
)


def add_build_arguments(p) -> None:
    p.add_argument("target", choices=[*TARGETS, "all"], help="what to build ('all' = demo set)")
    p.add_argument("--encoder", action="append", help="encoder name(s) for 'features'")
    p.add_argument("--method", help="fusion strategy or recommender name")
    p.add_argument("--quick", action="store_true", help="a small slice, for smoke tests")
    p.add_argument("--limit", type=int, help="at most N books (features, ocr)")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--jobs", type=int, default=1,
                   help="all: run independent steps side by side as N processes (default 1: "
                        "one after another in this process)")


def build(args) -> dict:
    if args.target == "all" and int(getattr(args, "jobs", 1) or 1) > 1:
        return build_all_parallel(args)
    targets = ALL if args.target == "all" else [args.target]
    results = {}
    for t in targets:
        module, func, _ = TARGETS[t]
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ModuleNotFoundError, AttributeError) as e:
            raise CommandError(f"build target {t!r} is not available in this build ({e})") from e
        results[t] = fn(args)
    text = "\n".join(f"{t}: {r.get('text', r) if isinstance(r, dict) else r}"
                     for t, r in results.items())
    return {"built": results, "text": text}


def _require_books(home: Path) -> int:
    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    try:
        n = cat.count_books()
    finally:
        cat.close()
    if not n:
        raise CommandError(f"the catalog in {home} has no books; import some first, e.g. "
                           f"`coverstory --home {home} import goodbooks ../shared/data/goodbooks10k`")
    return n


def build_lexical(args) -> dict:
    """The dialogue's book index (saved under <home>/dialogue/), the intent classifier and
    the BM25 index: the chat and text search answer on words with these alone."""
    from argparse import Namespace

    from coverstory.config import home_dir
    from coverstory.dialogue import bookindex

    home = home_dir(getattr(args, "home", None))
    n = _require_books(home)
    out: dict = {}
    t = time.time()
    idx = bookindex.for_home(home)
    out["book index"] = {"books": len(idx), "seconds": round(time.time() - t, 1)}
    sub = Namespace(home=str(home), quick=False, force=False, method="bm25", limit=None,
                    encoder=None)
    for name, target in (("intents", "intents"), ("bm25", "index")):
        t = time.time()
        module, func, _ = TARGETS[target]
        try:
            getattr(importlib.import_module(module), func)(sub)
        except (ModuleNotFoundError, AttributeError) as e:
            out[name] = f"not available in this build ({e})"
            continue
        out[name] = {"seconds": round(time.time() - t, 1)}
    text = f"{n} books; " + "; ".join(
        f"{k} {v['seconds']} s" if isinstance(v, dict) else f"{k}: {v}" for k, v in out.items())
    return {**out, "text": text}


# ---- running the plan as subprocesses ---------------------------------------------------
_PROGRESS = re.compile(r"(\d+)/(\d+)")


class PlanRun:
    """Runs :data:`PLAN` (or given steps) as ``coverstory build`` subprocesses, at most
    ``jobs`` at once, each with ``COVERSTORY_THREADS`` = its share of the CPUs, at a lower
    CPU priority (``nice``) so a server beside them keeps answering. Each step's output goes
    to ``<home>/build/logs/<step>.log``; :meth:`status` reads its last progress line.
    ``on_step(step, result)`` is called after each successful step. ``cpus``: the CPU
    threads to share (default :func:`~coverstory.encoders.base.default_threads`; a server,
    whose own $COVERSTORY_THREADS is 1 per request, passes the machine's)."""

    def __init__(self, home, steps: tuple[Step, ...] | None = None, jobs: int | None = None,
                 nice: int = 0, on_step=None, extra_args: tuple[str, ...] = (),
                 cpus: int | None = None):
        from coverstory.encoders.base import default_threads

        steps = PLAN if steps is None else steps
        self.home = Path(home)
        self.steps = {s.name: s for s in steps}
        self.cpus = max(1, cpus or default_threads())
        self.jobs = max(1, jobs or self.cpus)
        self.nice = nice
        self.on_step = on_step
        self.extra_args = tuple(extra_args)
        self.logs = self.home / "build" / "logs"
        self.state: dict[str, dict] = {s.name: {"state": "waiting"} for s in steps}
        self.started = self.finished = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._stop = threading.Event()

    # ---- control ---------------------------------------------------------------------------
    def run(self) -> dict:
        """Run every step (blocking); returns the states."""
        self.started = time.time()
        self.logs.mkdir(parents=True, exist_ok=True)
        changed: set[str] = set()
        while not self._stop.is_set():
            waiting = [n for n, st in self.state.items() if st["state"] == "waiting"]
            if not waiting and not self._procs:
                break
            for name in waiting:
                step = self.steps[name]
                needs = [self.state[d]["state"] for d in step.needs if d in self.state]
                if any(s in ("failed", "skipped") for s in needs):
                    self.state[name] = {"state": "skipped", "note": "a step it needs failed"}
                    continue
                if any(s != "done" for s in needs):
                    continue
                if step.outputs and all((self.home / o).exists() for o in step.outputs) \
                        and not changed & set(step.needs):
                    self.state[name] = {"state": "done", "note": "up to date", "seconds": 0}
                    continue
                if len(self._procs) >= self.jobs:
                    break
                self._start(step)
            for name, proc in list(self._procs.items()):
                if proc.poll() is not None:
                    if self._finish(name, proc):
                        changed.add(name)
            time.sleep(0.2)
        self.finished = time.time()
        return self.status()

    def stop(self) -> None:
        """Stop the running steps (the server is shutting down)."""
        self._stop.set()
        for proc in list(self._procs.values()):
            proc.terminate()
        for name, proc in list(self._procs.items()):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            self.state[name] = {"state": "failed", "note": "stopped"}
        self._procs.clear()

    def _start(self, step: Step) -> None:
        running = len(self._procs) + 1
        pending = sum(1 for st in self.state.values() if st["state"] == "waiting") - 1
        share = self.cpus if step.all_cpus else max(
            1, self.cpus // max(1, min(self.jobs, running + max(0, pending))))
        env = dict(os.environ, COVERSTORY_THREADS=str(share), OMP_NUM_THREADS=str(share),
                   OPENBLAS_NUM_THREADS=str(share), MKL_NUM_THREADS=str(share),
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        cmd = [sys.executable, "-m", "coverstory.cli", "--home", str(self.home), "--json",
               "build", *step.argv, *self.extra_args]
        log_path = self.logs / f"{re.sub(r'[^a-z0-9]+', '-', step.name)}.log"
        nice = self.nice
        # stdout (the --json result) to a file too: a pipe could fill up and block the step
        with open(log_path, "w") as err, open(log_path.with_suffix(".json"), "w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env,
                                    stdin=subprocess.DEVNULL,
                                    preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self._procs[step.name] = proc
        self.state[step.name] = {"state": "running", "since": time.time(), "threads": share,
                                 "started": round(time.time() - self.started, 1),
                                 "log": str(log_path)}

    def _finish(self, name: str, proc: subprocess.Popen) -> bool:
        """Record a finished step; True when it changed something."""
        del self._procs[name]
        try:
            stdout = Path(self.state[name]["log"]).with_suffix(".json").read_text()
        except (OSError, KeyError):
            stdout = ""
        since = self.state[name].get("since", time.time())
        st = {"state": "done", "seconds": round(time.time() - since, 1),
              "started": self.state[name].get("started"),
              "threads": self.state[name].get("threads"), "log": self.state[name].get("log")}
        result: dict = {}
        try:
            result = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {}
        except (json.JSONDecodeError, IndexError):
            result = {}
        if proc.returncode != 0:
            st["state"] = "failed"
            st["note"] = (result.get("error") or _tail(Path(st["log"]))
                          or f"exit status {proc.returncode}")[:300]
            self.state[name] = st
            return False
        changed = _changed(result)
        if not changed:
            st["note"] = "up to date"
        self.state[name] = st
        if self.on_step is not None:
            try:
                self.on_step(self.steps[name], result)
            except Exception:  # noqa: BLE001 - a reload failure must not stop the build
                import logging

                logging.getLogger("coverstory.build").exception("after step %s", name)
        return changed

    # ---- progress --------------------------------------------------------------------------
    def status(self) -> list[dict]:
        """Each step: name, state (waiting / running / done / failed / skipped), seconds, and
        for a running one its latest progress (done / total from its log) and log file."""
        out = []
        now = time.time()
        for name, st in self.state.items():
            d = {"name": name, **{k: v for k, v in st.items() if k != "since"}}
            if st["state"] == "running":
                d["seconds"] = round(now - st["since"], 1)
                line = _tail(Path(st["log"]))
                if line:
                    d["detail"] = line[:160]
                    m = _PROGRESS.findall(line)
                    if m:
                        done, total = (int(x) for x in m[-1])
                        if total:
                            d["done"], d["total"] = done, total
                            d["percent"] = round(100 * done / total)
            out.append(d)
        return out

    @property
    def running(self) -> bool:
        return self.started is not None and self.finished is None


def _changed(result: dict) -> bool:
    feats = result.get("features")
    if isinstance(feats, list):
        return any(r.get("computed") or r.get("removed") or r.get("replaced") for r in feats)
    return True


def _tail(path: Path, size: int = 4096) -> str:
    """The last progress line of a log (tqdm bars end lines with carriage returns)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    parts = [p.strip() for p in re.split(r"[\r\n]+", data) if p.strip()]
    if not parts:
        return ""
    line = re.sub(r"[\u2580-\u259f#]+", "", parts[-1])      # bar blocks
    return re.sub(r"\s+", " ", line).strip()


def build_all_parallel(args) -> dict:
    """``build all --jobs N``: lexical here, then the plan as N side-by-side subprocesses."""
    from coverstory.config import home_dir

    home = home_dir(getattr(args, "home", None))
    t0 = time.time()
    lex = build_lexical(args)
    extra = ("--quick",) if getattr(args, "quick", False) else ()
    run = PlanRun(home, jobs=int(args.jobs), extra_args=extra)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (run.run(), done.set()), daemon=True)
    thread.start()
    shown: dict[str, str] = {}
    while not done.wait(2.0):
        for s in run.status():
            key = s["state"] + str(s.get("percent", ""))
            if shown.get(s["name"]) != key:
                shown[s["name"]] = key
                pct = f" {s['percent']}%" if "percent" in s else ""
                print(f"[build] {s['name']}: {s['state']}{pct}", file=sys.stderr, flush=True)
    steps = run.status()
    failed = [s for s in steps if s["state"] in ("failed", "skipped")]
    secs = time.time() - t0
    lines = [lex["text"]] + [f"{s['name']}: {s['state']}"
                             + (f" in {s['seconds']} s" if s.get("seconds") else "")
                             + (f" ({s['note']})" if s.get("note") else "") for s in steps]
    lines.append(f"all built in {secs:.0f} s with {run.jobs} jobs")
    if failed:
        raise CommandError("\n".join(lines) + "\nsee the logs in " + str(run.logs))
    return {"lexical": lex, "steps": steps, "seconds": round(secs, 1), "jobs": run.jobs,
            "text": "\n".join(lines)}
