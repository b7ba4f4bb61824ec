"""Several server processes on one listening socket: ``coverstory serve --workers N``.

One process answers Python work (dialogue turns, ranking, photo matching) on one core at a
time (the GIL); on a machine with more cores, N worker processes answer N requests at once.
The supervisor (the ``coverstory serve`` process) binds the socket, starts N workers (each
``coverstory serve`` again, given the socket's file descriptor), starts a worker again
when one dies, and stops them all on Ctrl-C / SIGTERM. Each worker loads its own models
(resident memory grows with N: docs/serve.md) and shares the catalog (SQLite, WAL) with
the others: sessions, feedback and chat turns are in the catalog, so any worker can answer
any request of a reader.

After an admin job (import, rebuild) in one worker, the others load the new artifacts
too: the worker that finished the job writes ``<home>/serve-reload.json`` (which parts,
by whom); every worker looks at it once a second (:class:`ReloadWatch`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("coverstory.serve")
RELOAD_FILE = "serve-reload.json"
RESTART_PAUSE = 2.0          # seconds between restarts of one worker (a crash loop waits)


def announce_reload(home: Path, parts) -> None:
    """Tell the other workers to load ``parts`` again (atomically replaced file)."""
    path = Path(home) / RELOAD_FILE
    tmp = path.with_name(f".{RELOAD_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"pid": os.getpid(), "parts": sorted(parts),
                               "at": time.time()}))
    os.replace(tmp, path)


class ReloadWatch:
    """A worker's thread that reloads its services when another worker announces new
    artifacts (``announce_reload``); ends with the process."""

    def __init__(self, home: Path, services, every: float = 1.0):
        self.path = Path(home) / RELOAD_FILE
        self.services = services
        self.every = every
        self._seen = self._stamp()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="reload-watch")

    def start(self) -> "ReloadWatch":
        self._thread.start()
        return self

    def _stamp(self):
        try:
            st = self.path.stat()
            return (st.st_mtime_ns, st.st_ino)
        except OSError:
            return None

    def check(self) -> tuple[str, ...] | None:
        """Reload now if there is a new announcement from another process; returns the
        parts reloaded (None: nothing new)."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return None
        self._seen = stamp
        try:
            note = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if note.get("pid") == os.getpid():
            return None
        parts = tuple(p for p in note.get("parts", ()) if isinstance(p, str))
        if parts:
            log.info("another worker announced new %s: reloading", ", ".join(parts))
            self.services.reload(parts, announce=False)
        return parts

    def _loop(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watch must go on
                log.exception("reload watch")


def exit_with_parent(parent: int, every: float = 1.0) -> None:
    """A worker ends when its supervisor is gone (killed -9): no orphan keeps the port."""

    def watch():
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


class Supervisor:
    """Start ``n`` workers (``command(i, fd)`` is worker i's argv), restart one that dies,
    stop them all on SIGINT / SIGTERM."""

    def __init__(self, command, n: int, fd: int, env: dict | None = None, out=print):
        self.command, self.n, self.fd, self.env, self.out = command, n, fd, env, out
        self.procs: dict[int, subprocess.Popen] = {}
        self.restarts = 0
        self._stopping = threading.Event()
        self._last_start: dict[int, float] = {}

    def _start(self, i: int) -> None:
        self._last_start[i] = time.monotonic()
        self.procs[i] = subprocess.Popen(self.command(i, self.fd), pass_fds=(self.fd,),
                                         env=self.env)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def stop(self, *_sig) -> None:
        self._stopping.set()

    def run(self) -> int:
        old = {s: signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for i in range(self.n):
                self._start(i)
            while not self._stopping.wait(0.5):
                for i, p in list(self.procs.items()):
                    if p.poll() is None:
                        continue
                    if time.monotonic() - self._last_start[i] < RESTART_PAUSE:
                        continue
                    self.out(f"worker {i} (pid {p.pid}) exited with {p.returncode}; "
                             "starting it again")
                    self.restarts += 1
                    self._start(i)
        finally:
            self._shutdown()
            for s, h in old.items():
                signal.signal(s, h)
        return 0

    def _shutdown(self, grace: float = 20.0) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        end = time.monotonic() + grace
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def worker_command(args, home: Path, index: int, fd: int) -> list[str]:
    """The argv of worker ``index``: the same serve options, the inherited socket."""
    cmd = [sys.executable, "-m", "coverstory.cli", "--home", str(home), "serve", "--worker-fd", str(fd), "--worker-index", str(index),
            "--policy", args.policy, "--log-level", args.log_level]
    if args.rate_per_minute is not None:
        cmd += ["--rate-per-minute", str(args.rate_per_minute)]
    if args.rate_burst is not None:
        cmd += ["--rate-burst", str(args.rate_burst)]
    for origin in args.cors_origin:
        cmd += ["--cors-origin", origin]
    if args.trust_forwarded_for:
        cmd.append("--trust-forwarded-for")
    if args.preload:
        cmd.append("--preload")
    return cmd
