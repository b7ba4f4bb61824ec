"""The load phase of ``coverstory bench load`` alone (one server process), with every
request's start time: where in the run the slow requests were.

    .venv/bin/python scripts/load_starts.py --home /work/homes/demo [--seconds 60]
        [--json out.json]

Same scratch home, server (``coverstory serve --preload``), warm-up, 50 readers, mix, think
times and seed as the bench (``coverstory.benchmarks._load_readers``); no durability or
import phase. Prints the bench's table, the server's CPU seconds and the load average, then
per 5-second window of start times the number of chat and search requests and their mean and
longest latency. Run it with ``PYTHONPATH=<checkout>/src`` to measure another version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import numpy as np

    import coverstory.benchmarks._load_readers as lr
    from coverstory.benchmarks._load_server import Server, free_port, scratch_home

    class Starts(lr.Recorder):
        def add(self, action, seconds, status, error=""):
            self.rows.append((action, seconds, status, error, time.time() - seconds))

    lr.Recorder = Starts                    # run_load makes its recorder from the module
    with tempfile.TemporaryDirectory(prefix="cs-load-starts-") as tmp:
        scratch = scratch_home(args.home.resolve(), Path(tmp))
        inputs = {"photos": lr.phone_photos(scratch, 12, args.seed)}
        inputs["ids"], inputs["titles"] = lr.book_sample(scratch, 300, args.seed)
        srv = Server(scratch, free_port(), Path(tmp) / "server.log", workers=1)
        try:
            print(f"ready in {srv.start():.1f} s", flush=True)
            asyncio.run(lr.warm_up(srv.url, inputs, args.seed + 1))
            cpu0, load0, t0 = srv.cpu_seconds(), os.getloadavg()[0], time.time()
            res = asyncio.run(lr.run_load(srv.url, args.seconds, inputs, args.seed, lr.ACTIONS,
                                          srv))
            cpu1, load1 = srv.cpu_seconds(), os.getloadavg()[0]
        finally:
            srv.stop()
    rows = [(a, s, st, e, ts - t0) for a, s, st, e, ts in res["rec"].rows]
    table, _ = lr.summarise(res["rec"], res["seconds"])
    for r in table:
        print(f"{r['action']:13s} n {r['requests']:4d} errors {r['errors']} p50 {r['p50_ms']:.0f} "
              f"p95 {r['p95_ms']:.0f} p99 {r['p99_ms']:.0f} max {r['max_ms']:.0f} ms")
    print(f"server CPU {cpu1 - cpu0:.1f} s; load average {load0:.1f} before, {load1:.1f} after")
    for lo in range(0, int(args.seconds) + 10, 5):
        sel = [s for a, s, _, _, t in rows if lo <= t < lo + 5 and a in ("chat", "search")]
        if sel:
            print(f"started {lo:3d}-{lo + 5:3d} s: {len(sel):3d} chat/search, mean "
                  f"{1000 * np.mean(sel):5.0f} ms, longest {1000 * max(sel):5.0f} ms")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "table": table, "server_cpu_s": cpu1 - cpu0,
                                         "load": [load0, load1]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
