"""Admin jobs (import, rebuild): the library's job functions (:mod:`coverstory.jobs`), run
one at a time in a thread.

A request's ``args`` are those of ``coverstory import`` / ``coverstory build`` (docs/api.md);
they are checked by the CLI's own parser before the job is accepted, so a bad argument is a
422 at once, not a failed job later, then turned into a job spec (``spec_of``) that
:func:`coverstory.jobs.run` does. ``--home`` is always the server's.

The background build (``coverstory serve --build``) is a job too: the build plan
(``coverstory.build.PLAN``) run as side-by-side subprocesses at a lower CPU priority; the
services are reloaded after each step that makes something new (``on_step``), and the
job's ``steps`` say what is still being prepared and how far along it is.

Requests never fit models. The saved recommender is rebuilt by a job of its own
(``python -m coverstory.jobs SPEC`` building the ``recommender`` target in a child process
at a lower CPU priority, so a fit's
memory goes back to the system when it ends): after an import into a home without one
(meanwhile requests answer with popular books and keep no profiles), and after a reader's
data is erased (so the next model holds nothing of them). A rebuild asked for while
another job runs starts when that job ends; several asks make one rebuild.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

from coverstory.serve.errors import ApiError

log = logging.getLogger("coverstory.serve")
FORBIDDEN = ("--home", "--json", "-h", "--help", "--out")


REBUILD = ["build", "recommender"]      # the rebuild job, as it is listed


class JobRunner:
    def __init__(self, home: Path, on_success=None, keep: int = 50,
                 rebuild_recommender: bool = True, nice: int = 10):
        self.home = Path(home)
        self.on_success = on_success
        self.keep = keep
        self.rebuild_recommender = rebuild_recommender   # off: the recommender is given
        self.nice = nice
        self.jobs: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, float] = {}   # why a rebuild is waiting -> since when
        self._child: subprocess.Popen | None = None

    def parse(self, command: list[str]):
        from coverstory.cli import build_parser, no_abbreviations

        for a in command[1:]:
            if a.split("=", 1)[0] in FORBIDDEN:
                raise ApiError(422, f"invalid request: args: {a!r} is not allowed here "
                                    "(the server's data home is used)")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                # options only in full: an abbreviation (--hom, --ho=) would pass FORBIDDEN
                args = no_abbreviations(build_parser()).parse_args(
                    ["--home", str(self.home), *command])
        except SystemExit:
            last = (err.getvalue().strip().splitlines() or ["invalid arguments"])[-1]
            raise ApiError(422, f"invalid request: args: {last}") from None
        if getattr(args, "_missing", None):
            raise ApiError(503, f"coverstory {command[0]} is not available in this build "
                                f"({args._missing})")
        return spec_of(args)

    def submit(self, command: list[str]) -> dict:
        spec = self.parse(command)
        with self._lock:
            if any(j["state"] in ("queued", "running") for j in self.jobs.values()):
                raise ApiError(409, "another admin job (or the background build) is still "
                                    "running; wait for it (GET /api/admin/jobs/{id}) and try "
                                    "again")
            job = {"id": secrets.token_hex(6), "command": list(command), "state": "running",
                   "created": time.time(), "finished": None, "result": None, "error": None}
            self.jobs[job["id"]] = job
            while len(self.jobs) > self.keep:
                self.jobs.popitem(last=False)
        threading.Thread(target=self._run, args=(job, spec), daemon=True,
                         name=f"admin-job-{job['id']}").start()
        return dict(job)

    def _run(self, job: dict, spec: dict) -> None:
        from coverstory.errors import CoverstoryError
        from coverstory.jobs import run

        try:
            result = run(spec)
            text = result.get("text") if isinstance(result, dict) else None
            job["result"] = str(text if text is not None else result)[:4000]
            job["state"] = "done"
            if self.on_success:
                self.on_success()
        except CoverstoryError as e:
            job["state"], job["error"] = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a job's failure is reported, not raised
            log.exception("admin job %s failed", job["id"])
            job["state"], job["error"] = "failed", f"{type(e).__name__}: {e}"[:2000]
        finally:
            job["finished"] = time.time()
        if job["state"] == "done" and job["command"][:1] == ["import"] and \
                not self.has_recommender() and self._has_ratings():
            self.request_rebuild("an import into a home without a saved recommender")
        self._start_pending()

    # ---- the recommender's rebuild ------------------------------------------------------------
    def has_recommender(self) -> bool:
        from coverstory.artifacts import recommender_saved

        return recommender_saved(self.home)

    def _has_ratings(self) -> bool:
        from coverstory.catalog import Catalog

        cat = Catalog.open(self.home)
        try:
            return cat.has_ratings()
        finally:
            cat.close()

    def request_rebuild(self, reason: str) -> dict | None:
        """Rebuild the saved recommender in a job: now, or when the running job ends (one
        rebuild for every ask made meanwhile). Returns the job when it starts now."""
        if not self.rebuild_recommender:
            return None
        with self._lock:
            self._pending.setdefault(reason, time.time())
            if self._busy():
                log.info("recommender rebuild waits for the running job (%s)", reason)
                return None
            job = self._take_pending()
        return self.get(job["id"]) if job else None

    def _busy(self) -> bool:
        return any(j["state"] in ("queued", "running") for j in self.jobs.values())

    def _start_pending(self) -> None:
        with self._lock:
            if self._pending and not self._busy():
                self._take_pending()

    def _take_pending(self) -> dict | None:
        """Start the rebuild for the pending asks (the caller holds the lock)."""
        reasons, self._pending = self._pending, {}
        only_missing = all("without a saved recommender" in r for r in reasons)
        if not reasons or (only_missing and self.has_recommender()):
            return None                  # built meanwhile (by the background build)
        job = {"id": secrets.token_hex(6), "command": list(REBUILD), "state": "running",
               "created": time.time(), "finished": None, "result": None, "error": None,
               "reason": "; ".join(reasons)}
        self.jobs[job["id"]] = job
        while len(self.jobs) > self.keep:
            self.jobs.popitem(last=False)
        threading.Thread(target=self._run_rebuild, args=(job,), daemon=True,
                         name=f"rebuild-job-{job['id']}").start()
        log.info("rebuilding the recommender (job %s): %s", job["id"], job["reason"])
        return job

    def _run_rebuild(self, job: dict) -> None:
        """The recommender's build (:func:`coverstory.jobs.build_target`) in a child process
        at a lower CPU priority."""
        spec = {"job": "build", "home": str(self.home), "target": "recommender"}
        cmd = [sys.executable, "-m", "coverstory.jobs", json.dumps(spec)]
        nice = self.nice
        try:
            from coverstory.serve import process

            env = dict(os.environ)
            if process.THREADS_SET_HERE:      # the server's one thread per request: the
                env.pop("COVERSTORY_THREADS", None)   # fit gets the machine's threads
            self._child = proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                stdin=subprocess.DEVNULL, preexec_fn=(lambda: os.nice(nice)) if nice else None)
            out, err = proc.communicate()
            lines = [ln for ln in out.splitlines() if ln.startswith("{")]
            got = json.loads(lines[-1]) if lines else {}
            if proc.returncode == 0:
                job["state"] = "done"
                built = got.get("built", {}).get("recommender", got)
                job["result"] = f"recommender rebuilt: {built}"[:4000]
                if self.on_success:
                    self.on_success()
            else:
                tail = (got.get("error") or err.strip().splitlines()[-1:] or ["no output"])
                job["state"] = "failed"
                job["error"] = (f"build recommender exited with {proc.returncode}: "
                                f"{tail if isinstance(tail, str) else tail[0]}")[:2000]
        except Exception as e:  # noqa: BLE001 - reported, not raised
            log.exception("recommender rebuild failed")
            job["state"], job["error"] = "failed", f"{type(e).__name__}: {e}"[:2000]
        finally:
            job["finished"] = time.time()
            self._child = None
        self._start_pending()

    def submit_build(self, on_step=None, jobs: int | None = None, nice: int = 19,
                     on_done=None) -> dict:
        """Start the background build of what the data home lacks (see the module
        docstring); ``on_step(step, result)`` runs after each successful step, ``on_done()``
        after the last one. Its steps run at the lowest CPU priority (nice 19): a request sharing
        a core with one of their threads gets ~99% of it (~90% at nice 10)."""
        from coverstory.build import PlanRun

        with self._lock:
            if any(j["state"] in ("queued", "running") for j in self.jobs.values()):
                raise ApiError(409, "another admin job is still running")
            from coverstory.serve import process

            # the server set $COVERSTORY_THREADS to 1 for its requests: the build's steps
            # share the machine's CPUs (with 1, they ran one after another on one core)
            cpus = _machine_cpus() if process.THREADS_SET_HERE else None
            plan = PlanRun(self.home, jobs=jobs, nice=nice, on_step=on_step, cpus=cpus)
            job = {"id": secrets.token_hex(6), "command": ["build", "all", "--background"],
                   "state": "running", "created": time.time(), "finished": None,
                   "result": None, "error": None}
            self.jobs[job["id"]] = job
            self.plan, self.plan_job = plan, job
        threading.Thread(target=self._run_plan, args=(job, plan, on_done), daemon=True,
                         name="background-build").start()
        return self.get(job["id"])

    def _run_plan(self, job: dict, plan, on_done=None) -> None:
        state, error, result = "failed", None, None
        try:
            steps = plan.run()
            bad = [s["name"] for s in steps if s["state"] in ("failed", "skipped")]
            state = "failed" if bad else "done"
            error = f"not built: {', '.join(bad)} (logs in {plan.logs})" if bad else None
            result = "; ".join(f"{s['name']}: {s['state']}" for s in steps)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            log.exception("background build failed")
            error = f"{type(e).__name__}: {e}"[:2000]
        finally:
            if on_done is not None:        # queue the last reloads before saying "done"
                try:
                    on_done()
                except Exception:  # noqa: BLE001
                    log.exception("after the background build")
            job.update(state=state, error=error, result=result, finished=time.time())

    def build_status(self) -> dict | None:
        """The background build: state, seconds and its steps (None when never started)."""
        job = getattr(self, "plan_job", None)
        if job is None:
            return None
        end = job["finished"] or time.time()
        return {"state": job["state"], "seconds": round(end - job["created"], 1),
                "steps": self.plan.status(), "error": job["error"]}

    def stop(self) -> None:
        """Stop the background build's running steps and a recommender rebuild (server
        shutdown)."""
        plan = getattr(self, "plan", None)
        if plan is not None and plan.running:
            plan.stop()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()

    def get(self, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no admin job {job_id!r}; list them with GET /api/admin/stats")
        return self._shown(job)

    def list(self) -> list[dict]:
        return [self._shown(j) for j in self.jobs.values()]

    def _shown(self, job: dict) -> dict:
        out = dict(job)
        if job is getattr(self, "plan_job", None) and out["result"] is None:
            out["result"] = "; ".join(
                f"{s['name']}: {s['state']}" + (f" {s['percent']}%" if "percent" in s else "")
                for s in self.plan.status())
        return out


def spec_of(args) -> dict:
    """The :mod:`coverstory.jobs` spec of parsed ``coverstory import`` / ``build`` arguments."""
    from coverstory.jobs import BUILD_OPTIONS

    if args.command == "import":
        return {"job": "import", "home": args.home, "source": args.source,
                "paths": list(args.paths), "user": args.user,
                "source_name": args.source_name, "progress": not args.no_progress}
    if args.command == "build":
        return {"job": "build", "home": args.home, "target": args.target,
                **{k: getattr(args, k, v) for k, v in BUILD_OPTIONS.items()}}
    raise ApiError(422, f"invalid request: {args.command!r} is not an admin job")


def _machine_cpus() -> int:
    """The CPUs this process may run on, whatever $COVERSTORY_THREADS says."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)
