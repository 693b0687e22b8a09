"""The Starlette application: the JSON API over one store, and the static front end.

Every read goes through sacred.store (paging, counting, downsampling and change
tokens live there too); the board holds no backend code. Store calls run in
Starlette's thread pool.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sacredboard.security import HostPolicy, SecurityMiddleware

__all__ = ["create_app", "Board"]

STATIC = os.path.join(os.path.dirname(__file__), "static")

#: How many indexes on config/info/meta/result paths a board that may write lets the
#: SQL reader create on an SQLite store (sacred/observers/sql/pages.py).
AUTO_INDEXES = 8
#: Seconds a count is reused while the store does not change.
COUNT_MAX_AGE = 5.0


class Board:
    """The store behind the API, with the lock and the change-token cache."""

    def __init__(self, store: Any, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        # Readers that keep in-memory caches (the file store's index, TinyDB) are
        # read by one thread at a time; database readers (SQL, Mongo) in parallel.
        self.lock = contextlib.nullcontext() if store.backend.pushes_down else threading.Lock()
        self.edits = 0  # bumped by edits made through the board
        from sacredboard.tensorboard import TensorBoards

        self.tensorboards = TensorBoards()
        self._token: tuple[float, str] | None = None
        self._counts: dict[str | None, tuple[str, float, int]] = {}
        self._prepared: set[tuple[str, ...]] = set()
        self._damaged: tuple[str, float, dict] | None = None
        if not read_only:
            # A board that may write lets the SQL reader index a config/info path the
            # first time a sort or count asks for it (SQLite; see docs/sacredboard.md).
            store.backend.auto_index = AUTO_INDEXES

    def prepare_sort(self, paths: list[tuple[str, ...]]) -> None:
        """Let the store get ready to sort by the paths a view shows as columns, in
        the background. Why: on SQLite the first sort by a config path builds its
        index (about 150 ms over 100,000 runs); built while the user looks at the
        new column, the click on its header costs what later sorts do."""
        new = [p for p in paths if p not in self._prepared]
        if self.read_only or not new:
            return
        self._prepared.update(new)
        prepare = self.store.backend.prepare_sort  # StoreBackend's: nothing, by default
        thread = threading.Thread(target=prepare, args=(new,), name="sacredboard-prepare")
        thread.daemon = True
        thread.start()

    def change_token(self) -> str:
        """The store's change token, computed at most every 0.3 s however many
        browsers poll."""
        from sacred.store.changes import change_token

        now = time.monotonic()
        if self._token is None or now - self._token[0] > 0.3:
            self._token = (now, change_token(self.store))
        return f"{self._token[1]}.{self.edits}"

    def damaged(self) -> dict:
        """{"count", "runs"} of the records that cannot be read (a full listing),
        remembered for COUNT_MAX_AGE seconds while the change token stays (a damaged
        rewrite of an old run's file need not move the token, so not longer)."""
        from sacred.store.changes import change_token
        from sacred.store.damaged import damaged_runs

        token = f"{change_token(self.store)}.{self.edits}"
        now = time.monotonic()
        known = self._damaged
        if known is None or known[0] != token or now - known[1] > COUNT_MAX_AGE:
            runs = damaged_runs(self.store)
            known = self._damaged = (token, now, {"count": len(runs), "runs": runs})
        return known[2]

    def count(self, query: str | None) -> int:
        """How many runs match query, remembered while the store's change token stays
        the same (for at most COUNT_MAX_AGE seconds: the effective status changes
        with time alone). Why: the table asks for the count with every reload, and a
        count over JSON values without an index reads every run."""
        from sacred.store.changes import change_token
        from sacred.store.paging import count

        # A fresh token, not the one shared for 0.3 s: a count must not lag a change.
        token = f"{change_token(self.store)}.{self.edits}"
        now = time.monotonic()
        known = self._counts.get(query)
        if known is not None and known[0] == token and now - known[1] < COUNT_MAX_AGE:
            return known[2]
        total = count(self.store, query)
        if len(self._counts) >= 64:
            self._counts.pop(next(iter(self._counts)))
        self._counts[query] = (token, now, total)
        return total


def create_app(
    store: Any,
    *,
    read_only: bool = False,
    token: str | None = None,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
) -> Starlette:
    """The dashboard over store (a sacred.store Store, or anything open_store takes).

    host is the address the server binds; the board answers to it, to the loopback
    names when it is a loopback or wildcard address, and to allowed_hosts
    (sacredboard.security: the DNS-rebinding check)."""
    if not hasattr(store, "backend"):
        from sacred.store import open_store

        store = open_store(store)
    from sacredboard import analysis, api, edits, importance, tensorboard, trash, views
    from sacredboard.http import exception_handlers

    board = Board(store, read_only=read_only)

    def index(request: Request) -> Response:
        return FileResponse(os.path.join(STATIC, "index.html"))

    routes = [
        Route("/", index),
        Route("/run/{run_id}", index),
        Route("/compare", index),
        Route("/trash", index),
        Route("/studies", index),
        Route("/studies/{study:path}", index),
        *api.ROUTES,
        *importance.ROUTES,  # before /api/studies/{study:path}
        *analysis.ROUTES,
        *edits.ROUTES,
        *trash.ROUTES,
        *views.ROUTES,
        *tensorboard.ROUTES,
        Route("/api/{rest:path}", api.not_found),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        yield
        board.tensorboards.stop_all()  # the TensorBoards the board started end with it

    app = Starlette(routes=routes, exception_handlers=exception_handlers(), lifespan=lifespan)
    app.add_middleware(SecurityMiddleware, token=token, hosts=HostPolicy(host, allowed_hosts))
    app.state.board = board
    return app
