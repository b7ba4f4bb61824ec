"""``coverstory serve``: build the app and run it under uvicorn (nothing else lives here)."""

from __future__ import annotations

import argparse

from coverstory.errors import CommandError


def add_serve_arguments(p) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    p.add_argument("--admin-token", help="token for the admin endpoints "
                                         "(default $COVERSTORY_ADMIN_TOKEN; empty = admin off)")
    p.add_argument("--policy", default="default", help="dialogue policy (default 'default')")
    p.add_argument("--rate-per-minute", type=float, default=None,
                   help="sustained requests per client and minute (default 300; 0 = no limit)")
    p.add_argument("--rate-burst", type=int, default=None,
                   help="requests a client may send at once (default 60)")
    p.add_argument("--cors-origin", action="append", default=[],
                   help="allow browser calls from this origin (repeatable; default: none)")
    p.add_argument("--trust-forwarded-for", action="store_true",
                   help="behind a reverse proxy on this machine: take the client address "
                        "from X-Forwarded-For and the scheme from X-Forwarded-Proto "
                        "(default: ignore those headers)")
    p.add_argument("--preload", action="store_true",
                   help="wait until the models are loaded before accepting requests "
                        "(by default the server answers at once, from what is loaded)")
    p.add_argument("--build", action="store_true",
                   help="also build what the data home lacks (features, indexes, "
                        "recommender) in the background; each is used as soon as it is "
                        "built (`make demo` does this)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes answering on the same port (default 1); each loads "
                        "its own models (memory grows with N; docs/serve.md); a built home "
                        "only (not with --build)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    # a worker of `serve --workers N` (started by the supervisor, not by hand)
    p.add_argument("--worker-fd", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)


def wait_until_loaded(services, log=print) -> None:
    """Block until the warm start has loaded every part (``--preload``)."""
    import time

    warm = services.start_warmup()
    t0 = time.time()
    while warm.busy():
        time.sleep(0.2)
    for part, st in warm.status().items():
        note = f" ({st['note']})" if st.get("note") else ""
        log(f"{part}: {st['state']}{note}")
    log(f"loaded in {time.time() - t0:.1f} s")


def count_books(home) -> int:
    """Books in the home's catalog, without creating or migrating anything (0: no catalog)."""
    from coverstory.catalog.copies import peek_counts

    return peek_counts(home)["books"]


def import_first(home) -> str:
    return (f"the catalog in {home} has no books: import first: coverstory --home {home} "
            "import goodbooks ../shared/data/goodbooks10k (a shop's own catalog: "
            "coverstory import csv FILE.csv or jsonl FILE.jsonl; docs/import.md)")


def serve(args) -> dict:
    import dataclasses
    import socket

    from coverstory.config import home_dir
    from coverstory.serve.settings import ServeSettings

    home = home_dir(getattr(args, "home", None))
    worker = getattr(args, "worker_index", None)
    workers = getattr(args, "workers", 1) or 1
    if workers < 1:
        raise CommandError("--workers must be at least 1")
    if worker is None and not count_books(home):
        if args.build:          # nothing to build from: no failed build steps, exit 2
            raise CommandError(import_first(home))
        print(f"note: {import_first(home)}; until then the server answers 503 "
              "(an admin import job can fill it)", flush=True)
    if workers > 1 and args.build:
        raise CommandError("--workers serves a built home: build it first (`coverstory "
                           "build all`), or serve --build with one worker (the default)")
    overrides = {}
    if args.rate_per_minute is not None:
        overrides["rate_per_minute"] = args.rate_per_minute
    if args.rate_burst is not None:
        overrides["rate_burst"] = args.rate_burst
    if args.cors_origin:
        overrides["cors_origins"] = tuple(args.cors_origin)
    if args.trust_forwarded_for:
        overrides["trust_forwarded_for"] = True
    settings = dataclasses.replace(ServeSettings(), **overrides)

    if worker is not None:              # one of several processes (serve --workers)
        sock = socket.socket(fileno=args.worker_fd)
        _run_app(args, home, settings, sock, worker=worker)
        return None

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{shown}:{port}/"
    if workers == 1:
        _run_app(args, home, settings, sock, url=url)
        return {"url": url, "text": "coverstory server stopped"}

    import os

    from coverstory.serve.workers import Supervisor, worker_command

    sock.listen(2048)
    sock.set_inheritable(True)
    env = dict(os.environ)
    if args.admin_token is not None:     # not on the command line (visible in ps)
        env["COVERSTORY_ADMIN_TOKEN"] = args.admin_token
    print(f"coverstory is serving {home} at {url}  with {workers} worker processes (API "
          f"docs: {url}docs; Ctrl-C stops)", flush=True)
    print("each worker loads the models" + (" before it answers" if args.preload else
          " in the background; /healthz says when they are ready"), flush=True)
    sup = Supervisor(lambda i, fd: worker_command(args, home, i, fd), workers,
                     sock.fileno(), env=env, out=lambda m: print(m, flush=True))
    sup.run()
    return {"url": url, "text": f"coverstory server stopped ({sup.restarts} worker restarts)"}


def _run_app(args, home, settings, sock, url: str | None = None,
             worker: int | None = None) -> None:
    """Create the app and run it under uvicorn on ``sock`` until Ctrl-C / SIGTERM."""
    import os

    import uvicorn

    from coverstory.serve.app import create_app
    from coverstory.serve.process import serving_threads, tune_malloc

    tune_malloc()
    serving_threads()
    app = create_app(home, admin_token=args.admin_token, settings=settings, policy=args.policy,
                     warm=True, build=args.build)
    if worker is not None:
        from coverstory.serve.workers import ReloadWatch, announce_reload, exit_with_parent

        exit_with_parent(os.getppid())
        services = app.state.services
        services.on_reload.append(lambda parts: announce_reload(home, parts))
        ReloadWatch(home, services).start()
    say = (lambda m: print(f"[worker {worker}] {m}", flush=True)) if worker is not None else \
        (lambda m: print(m, flush=True))
    if args.preload:
        wait_until_loaded(app.state.services, log=say)
    if url is not None:
        print(f"coverstory is serving {home} at {url}  (API docs: {url}docs; Ctrl-C stops)",
              flush=True)
        if not args.preload:
            print("models are loading in the background" + (
                "; what the data home lacks is being built (progress: the page, /healthz)"
                if args.build else "; /healthz says when they are ready"), flush=True)
    # uvicorn's proxy headers would let any local client set its address (and so its
    # rate-limit bucket) with X-Forwarded-For: only behind a proxy we were told about
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=5,
                            proxy_headers=settings.trust_forwarded_for)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: a normal stop
        pass
