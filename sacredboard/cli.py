"""``sacredboard [STORE] [--host H] [--port P] [--open] [--read-only] [--token T]
[--allowed-host NAME]``."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import threading
import webbrowser

from sacred._extras import one_line_for_missing_extras
from sacred.exceptions import StoreError

__all__ = ["main", "DEFAULT_STORE"]

#: The embedded default store: the SQLite database examples/demo.py writes.
DEFAULT_STORE = "sqlite:///demo_runs/runs.db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sacredboard",
        description="A web dashboard over recorded sacred runs.",
    )
    parser.add_argument(
        "store",
        nargs="?",
        default=DEFAULT_STORE,
        help="a store sacred.store.open_store accepts: a run directory, sqlite:///runs.db, "
        f"postgresql://…, mysql+pymysql://…, mongodb://host/db (default: {DEFAULT_STORE}, "
        "what examples/demo.py writes)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000; 0 = any free)")
    parser.add_argument("--open", action="store_true", help="open the board in a web browser")
    parser.add_argument("--read-only", action="store_true", help="refuse tags, notes, deletion")
    parser.add_argument(
        "--token",
        nargs="?",
        const="",
        default=None,
        help="require this access token (a random one when given without value)",
    )
    parser.add_argument("--dead-after", type=float, default=None, help="see `sacred runs`")
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the board may be reached as, besides the bound address "
        "(and localhost for a loopback or wildcard bind); repeatable",
    )
    return parser


@one_line_for_missing_extras("sacredboard")
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from sacred.store import open_store

    options = {} if args.dead_after is None else {"dead_after": args.dead_after}
    try:
        store = open_store(args.store, **options)
    except StoreError as exc:
        print(f"sacredboard: error: {exc}", file=sys.stderr)
        if args.store == DEFAULT_STORE:
            print(
                "sacredboard: run `python examples/demo.py` to record the demo runs, "
                "or give a store: sacredboard sqlite:///runs.db",
                file=sys.stderr,
            )
        return 2
    token = args.token if args.token != "" else secrets.token_urlsafe(16)
    import uvicorn

    from sacredboard.app import create_app

    app = create_app(
        store,
        read_only=args.read_only,
        token=token,
        host=args.host,
        allowed_hosts=args.allowed_host,
    )
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(
            f"sacredboard: error: cannot listen on {args.host}:{args.port} ({exc.strerror}); "
            "choose another --port (0 = any free port).",
            file=sys.stderr,
        )
        return 2
    sock.listen(2048)  # connections queue from here on, before the server loop starts
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    print(f"sacredboard: serving {args.store} at {url}", flush=True)
    if args.open:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
