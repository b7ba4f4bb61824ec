"""``coverstory serve``: build the app and run it under uvicorn (nothing else lives here)."""

from __future__ import annotations


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
    p.add_argument("--preload", action="store_true",
                   help="load the models before accepting requests "
                        "(slower start, fast first reply)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def preload(svc) -> None:
    """Load the services (and their models) now rather than on the first request."""
    import time

    from coverstory.serve.errors import ApiError

    for name in ("search", "recommend", "dialogue"):
        t0 = time.time()
        try:
            obj = getattr(svc, name)
        except ApiError as e:
            print(f"{name}: {e.message}", flush=True)
            continue
        try:
            _warm(name, obj)
        except Exception as e:  # noqa: BLE001 - a failed warm-up shows on first use instead
            print(f"{name}: warm-up failed ({type(e).__name__}: {e})", flush=True)
            continue
        print(f"{name} loaded in {time.time() - t0:.1f} s", flush=True)


def _warm(name: str, obj) -> None:
    """Make a lazy service load its models: its own warm_up(), else one small query."""
    warm = getattr(obj, "warm_up", None)
    if callable(warm):
        warm()
    if name == "search":  # a query of each kind loads the query encoders too
        from PIL import Image

        obj.text("a book", k=1)
        obj.photo(Image.new("RGB", (64, 96), (120, 90, 60)), k=1)
    elif name == "recommend":
        getattr(obj, "model", None)
    elif name == "dialogue":
        for part in ("index", "nlu"):
            getattr(obj, part, None)


def serve(args) -> dict:
    import dataclasses
    import socket

    import uvicorn

    from coverstory.config import home_dir
    from coverstory.serve.app import create_app
    from coverstory.serve.settings import ServeSettings

    home = home_dir(getattr(args, "home", None))
    overrides = {}
    if args.rate_per_minute is not None:
        overrides["rate_per_minute"] = args.rate_per_minute
    if args.rate_burst is not None:
        overrides["rate_burst"] = args.rate_burst
    if args.cors_origin:
        overrides["cors_origins"] = tuple(args.cors_origin)
    settings = dataclasses.replace(ServeSettings(), **overrides)
    app = create_app(home, admin_token=args.admin_token, settings=settings, policy=args.policy)
    if args.preload:
        preload(app.state.services)

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"coverstory is serving {home} at http://{shown}:{port}/  (API docs: "
          f"http://{shown}:{port}/docs; Ctrl-C stops)", flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: a normal stop
        pass
    return {"url": f"http://{shown}:{port}/", "text": "coverstory server stopped"}
