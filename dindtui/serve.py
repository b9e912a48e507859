"""`dindtui serve`: the same TUI in a browser, through textual-serve. Each browser tab gets its
own `dindtui` process (with this one's environment: the same engine and namespace).

textual-serve has no authentication, and this app drives root-level daemons: every request
must carry a random token (`?token=...`, in the URL printed at start), compared in constant
time; anything else gets 403. It binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import hmac
import secrets
import shlex
import sys
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class TokenServer(Server):
    def __init__(self, command: str, *, host: str, port: int, token: str) -> None:
        super().__init__(command, host=host, port=port, title="dindtui")
        self.token = token

    def url(self) -> str:
        return f"{self.public_url}/?token={self.token}"

    def allowed(self, request: web.Request) -> bool:
        """The token in the query (the page) or in the path (its websocket: the page's script
        adds its own query to that URL)."""
        given = request.match_info.get("token") or request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def require_token(request: web.Request, handler):
            # The page's own scripts, styles and fonts (the package's files) are public.
            if not request.path.startswith("/static/") and not self.allowed(request):
                raise web.HTTPForbidden(text="dindtui serve: this URL needs its token "
                                             "(printed where the server was started)\n")
            return await handler(request)

        app.middlewares.append(require_token)
        app.router.add_get("/ws/{token}", self.handle_websocket, name="websocket-token")
        return app

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        # The parent's handler, before its template decorator: the page's data, to which the
        # websocket's token is added.
        context = await Server.handle_index.__wrapped__(self, request)  # type: ignore[attr-defined]
        context["app_websocket_url"] += f"/{self.token}"
        return context

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"dindtui in a browser: [bold]{self.url()}[/]  (ctrl+c stops)")
        self.console.print("[dim]the token is the only key to this engine: share the URL with "
                           "no one[/]")


def app_command(engines: list[str], animation: bool = True) -> str:
    """The command each browser tab runs: this dindtui, on the same engines."""
    return shlex.join([sys.executable, "-m", "dindtui", *engines]
                      + ([] if animation else ["--no-animation"]))


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          animation: bool = True, engines: list[str] | None = None) -> int:
    """`engines`: the --host/--context arguments of several engines, for every tab's app (one
    engine is in the environment this process passes on)."""
    command = app_command(engines or [], animation)
    server = TokenServer(command, host=host, port=port,
                         token=token or secrets.token_urlsafe(24))
    server.serve()
    return 0
