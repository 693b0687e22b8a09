"""Access token and CSRF protection.

With ``--token``, every request must carry it: the ``Authorization: Bearer`` header,
HTTP basic auth with the token as the password (any user name: ``curl -u :TOKEN``,
or the browser's login prompt, which a refused page asks for), the
``sacredboard_token`` cookie, or once ``?token=`` in a URL (which sets the cookie, so
a link printed by the server logs the browser in).

Edits (any method but GET/HEAD) must carry the ``X-Sacredboard: 1`` header, which a
cross-site form or image cannot send without a CORS preflight the server never
grants, and their Origin, when present, must name an allowed host (below) on the
request's own port.

DNS rebinding: a page on ``attacker.example`` whose name is made to resolve to
127.0.0.1 reaches the board as same-origin, with ``Host: attacker.example``. So
every request's Host must be an allowed host: the loopback names (``localhost``,
``127.0.0.1``, ``::1``) for a board bound to a loopback or wildcard address, the
bound address itself, any IP address for a wildcard bind (an address cannot be
rebound), and the names given with ``--allowed-host``. Anything else is refused
with 421.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sacredboard.jsonout import JSON

__all__ = ["SecurityMiddleware", "HostPolicy", "CSRF_HEADER", "TOKEN_COOKIE"]

CSRF_HEADER = "X-Sacredboard"
TOKEN_COOKIE = "sacredboard_token"


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _given_token(authorization: str) -> str | None:
    """The token an Authorization header carries: a bearer token, or the password of
    basic auth."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WILDCARDS = ("0.0.0.0", "::", "")


def _split_host(netloc: str) -> tuple[str, str | None]:
    """'[::1]:5000' -> ('::1', '5000'); 'Board.local' -> ('board.local', None)."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
        return host, port
    return netloc, None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which Host names a board answers to (see the module docstring)."""

    def __init__(self, bound: str = "127.0.0.1", allowed: Iterable[str] = ()) -> None:
        self.bound = bound.strip("[]").lower()
        self.wildcard = self.bound in _WILDCARDS
        loopback = self.wildcard or self.bound in LOOPBACK_NAMES or self.bound.startswith("127.")
        names = {self.bound, *(a.strip().lower() for a in allowed if a.strip())}
        if loopback:
            names.update(LOOPBACK_NAMES)
        self.names = frozenset(n.strip("[]") for n in names if n)

    def allows(self, host: str) -> bool:
        return host in self.names or (self.wildcard and _is_ip(host))

    def describe(self) -> str:
        names = sorted(self.names - {""})
        return ", ".join(names) + (" or any IP address" if self.wildcard else "")


class SecurityMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: Any, token: str | None = None, hosts: HostPolicy | None = None) -> None:
        super().__init__(app)
        self.token = token
        self.hosts = hosts or HostPolicy()

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        host, port = _split_host(request.headers.get("host", ""))
        if not self.hosts.allows(host):
            return JSON(
                {
                    "error": f"This board does not answer to the host name {host!r} (it "
                    f"answers to {self.hosts.describe()}); to reach it under that name, "
                    f"start it with --allowed-host {host or 'NAME'}."
                },
                status_code=421,
            )
        if self.token is not None:
            given = request.query_params.get("token")
            if _same(given, self.token):
                target = request.url.remove_query_params("token")
                response = RedirectResponse(str(target), status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return response
            authorization = request.headers.get("authorization", "")
            if not (
                _same(request.cookies.get(TOKEN_COOKIE), self.token)
                or _same(_given_token(authorization), self.token)
            ):
                return JSON(
                    {
                        "error": "This board needs its access token: open the URL the "
                        "server printed (…?token=…), give it as the password when the "
                        "browser asks, or send 'Authorization: Bearer TOKEN'."
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="sacredboard", charset="UTF-8"'},
                )
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if request.headers.get(CSRF_HEADER) != "1":
                return JSON(
                    {"error": f"Edits need the header '{CSRF_HEADER}: 1' (CSRF protection)."},
                    status_code=403,
                )
            origin = request.headers.get("origin")
            if origin is not None and not self._own_origin(origin, port):
                return JSON(
                    {"error": f"Edits from another site ({origin}) are refused."},
                    status_code=403,
                )
        return await call_next(request)

    def _own_origin(self, origin: str, port: str | None) -> bool:
        """An Origin naming an allowed host on the port the request came to."""
        try:
            parts = urlsplit(origin)
            origin_port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            return False
        default = 443 if parts.scheme == "https" else 80
        wanted = int(port) if port and port.isdigit() else default
        return self.hosts.allows(parts.hostname.lower()) and (origin_port or default) == wanted
