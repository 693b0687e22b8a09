"""Access token and CSRF protection.

With ``--token``, every request must carry it: the ``Authorization: Bearer`` header,
HTTP basic auth with the token as the password (any user name: ``curl -u :TOKEN``,
or the browser's login prompt, which a refused page asks for), the
``sacredboard_token`` cookie, or once ``?token=`` in a URL (which sets the cookie, so
a link printed by the server logs the browser in).

Edits (any method but GET/HEAD) must carry the ``X-Sacredboard: 1`` header, which a
cross-site form or image cannot send without a CORS preflight the server never
grants, and their Origin, when present, must be the server's own.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sacredboard.jsonout import JSON

__all__ = ["SecurityMiddleware", "CSRF_HEADER", "TOKEN_COOKIE"]

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


class SecurityMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: Any, token: str | None = None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: Any) -> Response:
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
            own = f"{request.url.scheme}://{request.url.netloc}"
            if origin is not None and origin != own:
                return JSON(
                    {"error": f"Edits from another site ({origin}) are refused."},
                    status_code=403,
                )
        return await call_next(request)
