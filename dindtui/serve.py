"""`dindtui serve`: the same TUI in a browser, through textual-serve. Each browser tab gets its
own `dindtui` process (with this one's environment: the same engine and namespace).

textual-serve has no authentication, and this app drives root-level daemons: every request
must carry a random token (`?token=...`, in the URL printed at start), compared in constant
time; anything else gets 403. It binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
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
    def __init__(self, command: str, *, host: str, port: int, token: str,
                 public_url: str | None = None) -> None:
        super().__init__(command, host=host, port=port, title="dindtui")
        self.token = token
        self.given_public_url = public_url.rstrip("/") if public_url else None
        if self.given_public_url:
            self.public_url = self.given_public_url

    def url(self) -> str:
        return f"{self.public_url}/?token={self.token}"

    def allowed(self, request: web.Request) -> bool:
        """The token in the query (the page) or in the path (its websocket: the page's script
        adds its own query to that URL)."""
        given = request.match_info.get("token") or request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def base_url(self, request: web.Request) -> str:
        """Where the browser reached this page: `--public-url` when given, else the scheme and
        host the request itself names (an SSH forward to another port, a proxy, 0.0.0.0)."""
        return self.given_public_url or f"{request.scheme}://{request.host}"

    def initialize_logging(self) -> None:
        """textual-serve's logging, with the token cut out of every line (aiohttp's access
        log prints each request's URL)."""
        super().initialize_logging()
        for handler in logging.getLogger().handlers:
            handler.addFilter(Redact(self.token))

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def require_token(request: web.Request, handler):
            # The page's own scripts, styles and fonts (the package's files) are public.
            if not request.path.startswith("/static/") and not self.allowed(request):
                raise web.HTTPForbidden(text="dindtui serve: this URL needs its token "
                                             "(printed where the server was started)\n")
            return await handler(request)

        async def no_referrer(_request: web.Request, response: web.StreamResponse) -> None:
            # The page loads a font stylesheet from another origin: the URL, token and all,
            # must not go with it.
            response.headers["Referrer-Policy"] = "no-referrer"

        app.middlewares.append(require_token)
        app.on_response_prepare.append(no_referrer)
        app.router.add_get("/ws/{token}", self.handle_websocket, name="websocket-token")
        return app

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page's data, its URLs made from where the browser reached it."""
        base = self.base_url(request)
        router = request.app.router
        static = base + str(router["static"].url_for(filename="/")).rstrip("/") + "/"
        socket_url = base + str(router["websocket-token"].url_for(token=self.token))
        scheme, rest = socket_url.split(":", 1)
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        return {"font_size": font_size,
                "app_websocket_url": ("wss:" if scheme == "https" else "ws:") + rest,
                "config": {"static": {"url": static}},
                "application": {"name": self.title}}

    async def on_startup(self, app: web.Application) -> None:
        # aiohttp binds the port after its startup hooks: the URL is printed once the port
        # answers, so that whoever reads it can connect at once.
        app["announce"] = asyncio.get_running_loop().create_task(self._announce())

    async def _announce(self) -> None:
        here = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host.strip("[]")
        for _ in range(200):  # 10 s at the most
            try:
                _, writer = await asyncio.open_connection(here, self.port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        self.console.print(f"dindtui in a browser: [bold]{self.url()}[/]  (ctrl+c stops)")
        self.console.print("[dim]the token is the only key to this engine: share the URL with "
                           "no one[/]")
        if not is_loopback(self.host):
            self.console.print(
                f"[bold red]warning:[/] listening on {self.host}, beyond this machine, over "
                "plain HTTP: anyone on the path can read the token and drive the engine as "
                "root. Prefer the default (127.0.0.1) and an SSH forward "
                "(ssh -L 8765:127.0.0.1:8765 HOST).")


class Redact(logging.Filter):
    """Cuts a secret out of every log record."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<token>"), ()
        return True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def app_command(engines: list[str], animation: bool = True) -> str:
    """The command each browser tab runs: this dindtui, on the same engines."""
    return shlex.join([sys.executable, "-m", "dindtui", *engines]
                      + ([] if animation else ["--no-animation"]))


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
          animation: bool = True, engines: list[str] | None = None,
          public_url: str | None = None) -> int:
    """`engines`: the --host/--context arguments of several engines, for every tab's app (one
    engine is in the environment this process passes on). `public_url`: where browsers reach
    this server, when a proxy rewrites the host (default: what each request names)."""
    command = app_command(engines or [], animation)
    server = TokenServer(command, host=host, port=port,
                         token=token or secrets.token_urlsafe(24), public_url=public_url)
    server.serve()
    return 0
