"""``coverstory bench load``: the scratch home and the server process under test (a pure move
out of load.py; the protocol is in load.py's docstring)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from coverstory.artifacts import COVER_FEATURE, COVER_FEATURES_FILE, TEXT_FEATURE, \
    TITLE_FEATURE, index_dir, models_dir
from coverstory.catalog.copies import books_by_ratings, copy_catalog, keep_books, peek_counts

LINKED = ("features", "indexes", "models", "dialogue", "fusion")


# ---- scratch home and server process -------------------------------------------------------
def scratch_home(home: Path, root: Path) -> Path:
    """A copy of ``home``'s catalog with links to its built artifacts."""
    scratch = root / "home"
    scratch.mkdir(parents=True)
    copy_catalog(home, scratch)
    for name in LINKED:
        if (home / name).exists():
            (scratch / name).symlink_to((home / name).resolve())
    return scratch


DEMO_BOOKS = 500


def home_is_built(home: Path) -> tuple[bool, str]:
    """Whether the search features of every book are built (else a demo subset is served)."""
    from coverstory.encoders.cache import feature_path, load_features

    if not feature_path(home, TEXT_FEATURE).exists():
        return False, f"{TEXT_FEATURE} features not built"
    if not feature_path(home, COVER_FEATURE).exists():
        return False, f"{COVER_FEATURE} features not built"
    covers = peek_counts(home)["covers"]
    rows = len(load_features(home, COVER_FEATURE)[0])
    if rows < 0.95 * covers:
        return False, f"cover features of {rows} of {covers} covers built"
    if not (index_dir(home) / COVER_FEATURES_FILE).exists():
        return False, "photo index (indexes/cover_features.npz) not built"
    return True, "all search features built"


def demo_home(home: Path, root: Path, n_books: int, seed: int) -> tuple[Path, dict]:
    """A scratch home of ``n_books`` books of ``home`` (with their ratings) whose cover
    features are already cached; small enough for the services to compute the rest."""
    from coverstory.encoders.cache import feature_path, load_features, save_features, \
        stored_hashes

    scratch = root / "home"
    scratch.mkdir(parents=True)
    cover_ids = set(load_features(home, COVER_FEATURE)[0].tolist())
    rated = books_by_ratings(home)
    keep = [b for b in rated if b in cover_ids]
    rng = random.Random(seed)
    keep = sorted(rng.sample(keep, min(n_books, len(keep))))
    copy_catalog(home, scratch)
    counts = keep_books(scratch, keep)
    for feature in (COVER_FEATURE, TEXT_FEATURE, TITLE_FEATURE):
        if not feature_path(home, feature).exists():
            continue
        ids, vecs = load_features(home, feature)
        hashes = stored_hashes(home, feature)
        keep_set = set(keep)
        sel = [i for i, b in enumerate(ids.tolist()) if b in keep_set]
        if sel:
            save_features(scratch, feature, ids[sel], vecs[sel],
                          [hashes.get(int(ids[i]), "") for i in sel])
    if models_dir(home).is_dir():
        import shutil

        shutil.copytree(models_dir(home), models_dir(scratch))
    return scratch, counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``coverstory serve`` as a child process; ``kill9()`` simulates a crash."""

    def __init__(self, home: Path, port: int, log: Path, workers: int = 1):
        self.home, self.port, self.log, self.workers = home, port, log, workers
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 900) -> float:
        t0 = time.time()
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   COVERSTORY_ADMIN_TOKEN="")
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coverstory.cli", "--home", str(self.home), "serve",
             "--host", "127.0.0.1", "--port", str(self.port), "--preload",
             "--rate-per-minute", "60000", "--rate-burst", "1000", "--log-level", "warning",
             "--workers", str(self.workers)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        import httpx

        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200 and \
                        len(self.pids()) >= self.workers + (self.workers > 1):
                    if self.workers > 1:      # every worker preloaded (each prints "loaded")
                        text = self.log.read_text(errors="replace")
                        if text.count("] loaded in") < self._loaded_before + self.workers:
                            time.sleep(0.25)
                            continue
                        self._loaded_before = text.count("] loaded in")
                    return time.time() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s; see {self.log}")

    _loaded_before = 0

    def pids(self) -> list[int]:
        """The server's processes: the supervisor and its workers (or the one process)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        return [self.proc.pid, *kids]

    def rss_mb(self) -> float | None:
        """Resident memory of all the server's processes together."""
        got = [_status_kb(p, "VmRSS:") for p in self.pids()]
        got = [g for g in got if g is not None]
        return sum(got) / 1024 if got else None

    def memory(self) -> dict:
        """RSS and PSS (shared pages split between the processes) per process, MB."""
        out = []
        for pid in self.pids():
            rss = _status_kb(pid, "VmRSS:")
            pss = _rollup_kb(pid, "Pss:")
            out.append({"pid": pid, "rss_mb": round(rss / 1024) if rss else None,
                        "pss_mb": round(pss / 1024) if pss else None})
        return {"processes": out,
                "rss_mb_total": round(sum(p["rss_mb"] or 0 for p in out)),
                "pss_mb_total": round(sum(p["pss_mb"] or 0 for p in out))}

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server's processes have used so far."""
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                return None
        return total

    def kill9(self) -> None:
        """SIGKILL to every server process at once (a crash of the whole server)."""
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _status_kb(pid: int, key: str) -> int | None:
    return _proc_kb(pid, "status", key)


def _rollup_kb(pid: int, key: str) -> int | None:
    return _proc_kb(pid, "smaps_rollup", key)


def _proc_kb(pid: int, name: str, key: str) -> int | None:
    """The kB figure of line ``key`` in /proc/PID/NAME (None when unreadable or absent)."""
    try:
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
