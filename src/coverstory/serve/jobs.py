"""Admin jobs (import, rebuild): the same CLI commands, run one at a time in a thread.

Arguments are parsed by the CLI's own parser before the job is accepted, so a bad
argument is a 422 at once, not a failed job later. ``--home`` is always the server's.

The background build (``coverstory serve --build``) is a job too: the build plan
(``coverstory.build.PLAN``) run as side-by-side subprocesses at a lower CPU priority; the
services are reloaded after each step that makes something new (``on_step``), and the
job's ``steps`` say what is still being prepared and how far along it is.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
import threading
import time
from collections import OrderedDict
from pathlib import Path

from coverstory.serve.errors import ApiError

log = logging.getLogger("coverstory.serve")
FORBIDDEN = ("--home", "--json", "-h", "--help", "--out")


class JobRunner:
    def __init__(self, home: Path, on_success=None, keep: int = 50):
        self.home = Path(home)
        self.on_success = on_success
        self.keep = keep
        self.jobs: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, command: list[str]):
        from coverstory.cli import build_parser

        for a in command[1:]:
            if a.split("=", 1)[0] in FORBIDDEN:
                raise ApiError(422, f"invalid request: args: {a!r} is not allowed here "
                                    "(the server's data home is used)")
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                args = build_parser().parse_args(["--home", str(self.home), *command])
        except SystemExit:
            last = (err.getvalue().strip().splitlines() or ["invalid arguments"])[-1]
            raise ApiError(422, f"invalid request: args: {last}") from None
        if getattr(args, "_missing", None):
            raise ApiError(503, f"coverstory {command[0]} is not available in this build "
                                f"({args._missing})")
        return args

    def submit(self, command: list[str]) -> dict:
        args = self.parse(command)
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
        threading.Thread(target=self._run, args=(job, args), daemon=True,
                         name=f"admin-job-{job['id']}").start()
        return dict(job)

    def _run(self, job: dict, args) -> None:
        from coverstory.cli import CommandError

        try:
            result = args._run(args)
            text = result.get("text") if isinstance(result, dict) else None
            job["result"] = str(text if text is not None else result)[:4000]
            job["state"] = "done"
            if self.on_success:
                self.on_success()
        except CommandError as e:
            job["state"], job["error"] = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a job's failure is reported, not raised
            log.exception("admin job %s failed", job["id"])
            job["state"], job["error"] = "failed", f"{type(e).__name__}: {e}"[:2000]
        finally:
            job["finished"] = time.time()

    def submit_build(self, on_step=None, jobs: int | None = None, nice: int = 10) -> dict:
        """Start the background build of what the data home lacks (see the module
        docstring); ``on_step(step, result)`` runs after each successful step."""
        from coverstory.build import PlanRun

        with self._lock:
            if any(j["state"] in ("queued", "running") for j in self.jobs.values()):
                raise ApiError(409, "another admin job is still running")
            plan = PlanRun(self.home, jobs=jobs, nice=nice, on_step=on_step)
            job = {"id": secrets.token_hex(6), "command": ["build", "all", "--background"],
                   "state": "running", "created": time.time(), "finished": None,
                   "result": None, "error": None}
            self.jobs[job["id"]] = job
            self.plan, self.plan_job = plan, job
        threading.Thread(target=self._run_plan, args=(job, plan), daemon=True,
                         name="background-build").start()
        return self.get(job["id"])

    def _run_plan(self, job: dict, plan) -> None:
        try:
            steps = plan.run()
            bad = [s["name"] for s in steps if s["state"] in ("failed", "skipped")]
            job["state"] = "failed" if bad else "done"
            job["error"] = (f"not built: {', '.join(bad)} (logs in {plan.logs})" if bad
                            else None)
            job["result"] = "; ".join(f"{s['name']}: {s['state']}" for s in steps)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            log.exception("background build failed")
            job["state"], job["error"] = "failed", f"{type(e).__name__}: {e}"[:2000]
        finally:
            job["finished"] = time.time()

    def build_status(self) -> dict | None:
        """The background build: state, seconds and its steps (None when never started)."""
        job = getattr(self, "plan_job", None)
        if job is None:
            return None
        end = job["finished"] or time.time()
        return {"state": job["state"], "seconds": round(end - job["created"], 1),
                "steps": self.plan.status(), "error": job["error"]}

    def stop(self) -> None:
        """Stop the background build's running steps (server shutdown)."""
        plan = getattr(self, "plan", None)
        if plan is not None and plan.running:
            plan.stop()

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
