"""The studio's web server: the page, its API, and the rules that keep a page elsewhere out.

Security: every request carries the token printed with the address (403 without it); a request that
changes anything is a POST with the token in the ``X-Swapcam-Token`` header, which a page of another
site cannot send without the browser asking this server first (and it never says yes); request bodies
are limited to :data:`MAX_BODY` bytes (413); files only by name inside the folders given at start
(folders.py). The server binds to 127.0.0.1 unless told otherwise (command.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.errors import UserError
from ..sources.synthetic import PRESET_NAMES
from .panel import config_values, panel_schema
from .session import DEMO, Session
from .views import VIEWS, Shot, encode, render

STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}
MAX_BODY = 64 * 1024
# how long a preview request waits for a frame newer than the one the page shows
NEWER_FRAME_WAIT_S = 1.0
TOKEN_HEADER = "x-swapcam-token"


class TokenGuard:
    """ASGI middleware: 403 unless the request carries the token (POSTs: in the header only)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            message = "missing or wrong token: open the address swapcam studio printed (it ends in ?token=…)"
            await JSONResponse({"error": message}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = [value for name, value in scope["headers"] if name == TOKEN_HEADER.encode()]
        if scope["method"] in ("GET", "HEAD"):  # a link or an <img> cannot send headers: the query may
            given += [v.encode() for v in parse_qs(scope["query_string"].decode()).get("token", [])]
        return any(hmac.compare_digest(value, self.token) for value in given)


class TooLarge(Exception):
    pass


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, refused past MAX_BODY bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise TooLarge
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise UserError("request body is not JSON: send a JSON object") from None
    if not isinstance(data, dict):
        raise UserError("request body must be a JSON object")
    return data


Handler = Callable[[Session, dict[str, Any]], Any]


def action(session: Session, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint: the JSON body to ``handler`` on a worker thread, its result as JSON."""

    async def endpoint(request: Request) -> Response:
        body = await read_json(request)
        result = await run_in_threadpool(handler, session, body)
        return JSONResponse({"ok": True, **(result or {})})

    return endpoint


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UserError(f"{key!r} must be a non-empty string")
    return value


ACTIONS: dict[str, Handler] = {
    "settings": lambda s, body: s.change_settings(body),
    "reset": lambda s, body: s.reset_settings(),
    "input": lambda s, body: s.switch_input(_text(body, "input")),
    "model": lambda s, body: s.switch_model(_text(body, "model")),
    "virtualcam": lambda s, body: s.set_virtualcam(bool(body.get("on"))),
    "record/start": lambda s, body: s.start_recording(body.get("name") or None),
    "record/stop": lambda s, body: s.stop_recording(),
    "snapshot": lambda s, body: s.snapshot(),
    "presets/save": lambda s, body: s.save_preset(_text(body, "name")),
    "presets/load": lambda s, body: s.load_preset(_text(body, "name")),
}


def build_app(session: Session, token: str) -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse((STATIC / "index.html").read_text().replace("{{token}}", token))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
            return JSONResponse({"error": f"no static file {name!r}"}, status_code=404)
        return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix])

    async def schema(request: Request) -> Response:
        views = [{"name": name, "label": VIEWS.get(name).label} for name in VIEWS]
        return JSONResponse({"groups": panel_schema(), "views": views})

    async def state(request: Request) -> Response:
        listing = await run_in_threadpool(session.folders.listing)
        return JSONResponse(
            {
                "settings": config_values(session.config),
                "status": session.status(),
                "models": [DEMO, *listing["models"]],
                "media": listing["media"],
                "presets": listing["presets"],
                "identities": list(PRESET_NAMES),
            }
        )

    async def stats(request: Request) -> Response:
        return JSONResponse({**session.tap.numbers(), "status": session.status()})

    async def newer_shot(after: str | None) -> Shot | None:
        """The newest shot; with ``after`` (the number the page shows) one newer than that, waiting
        for it up to NEWER_FRAME_WAIT_S, so the page never has the same frame encoded twice."""
        if after is not None and not after.lstrip("-").isdigit():
            raise UserError(f"after={after!r} must be a frame number")
        deadline = time.monotonic() + NEWER_FRAME_WAIT_S
        while (shot := session.tap.shot) is None or (after is not None and shot.number <= int(after)):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.015)
        return shot

    def picture(kind: str, full_size: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            shot = await newer_shot(request.query_params.get("after"))
            if shot is None:
                return JSONResponse({"error": "no frame yet: the stream is starting"}, status_code=503)
            view = request.query_params.get("view", "output")
            data = await run_in_threadpool(lambda: encode(render(shot, view, full_size), kind))
            headers = {"Cache-Control": "no-store", "X-Frame-Index": str(shot.number)}
            return Response(data, media_type=f"image/{kind}", headers=headers)

        return endpoint

    async def user_error(request: Request, err: Exception) -> Response:
        return JSONResponse({"error": str(err)}, status_code=400)

    async def too_large(request: Request, err: Exception) -> Response:
        return JSONResponse({"error": f"request body is over {MAX_BODY // 1024} KiB: send less"}, status_code=413)

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/schema", schema),
        Route("/api/state", state),
        Route("/api/stats", stats),
        Route("/api/preview.jpg", picture("jpeg", full_size=False)),
        Route("/api/frame.png", picture("png", full_size=True)),
        *(Route(f"/api/{name}", action(session, handler), methods=["POST"]) for name, handler in ACTIONS.items()),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenGuard, token=token)],
        exception_handlers={UserError: user_error, TooLarge: too_large},
    )
