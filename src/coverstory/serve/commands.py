"""``coverstory serve``: build the app and run it under uvicorn (nothing else lives here)."""

from __future__ import annotations

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
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


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
    import sqlite3
    from pathlib import Path

    path = Path(home) / "catalog.sqlite"
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute("SELECT COUNT(*) FROM books").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError:       # no books table yet (never imported into)
        return 0


def import_first(home) -> str:
    return (f"the catalog in {home} has no books: import first: coverstory --home {home} "
            "import goodbooks ../shared/data/goodbooks10k (a shop's own catalog: "
            "coverstory import csv FILE.csv or jsonl FILE.jsonl; docs/import.md)")


def serve(args) -> dict:
    import dataclasses
    import socket

    import uvicorn

    from coverstory.config import home_dir
    from coverstory.serve.app import create_app
    from coverstory.serve.services import tune_malloc
    from coverstory.serve.settings import ServeSettings

    tune_malloc()
    home = home_dir(getattr(args, "home", None))
    if not count_books(home):
        if args.build:          # nothing to build from: no failed build steps, exit 2
            raise CommandError(import_first(home))
        print(f"note: {import_first(home)}; until then the server answers 503 "
              "(an admin import job can fill it)", flush=True)
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
    app = create_app(home, admin_token=args.admin_token, settings=settings, policy=args.policy,
                     warm=True, build=args.build)
    if args.preload:
        wait_until_loaded(app.state.services, log=lambda m: print(m, flush=True))

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"coverstory is serving {home} at http://{shown}:{port}/  (API docs: "
          f"http://{shown}:{port}/docs; Ctrl-C stops)", flush=True)
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
    return {"url": f"http://{shown}:{port}/", "text": "coverstory server stopped"}
