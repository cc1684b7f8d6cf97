"""The HTTP side of ``audiosr app``: a small Starlette application over a :class:`Workspace`, served by uvicorn.

The page is plain HTML, CSS and JavaScript shipped in ``static/``; nothing is fetched from
elsewhere (a Content-Security-Policy of ``'self'`` makes the browser refuse it) and
nothing is reported anywhere. Requests with a ``Host`` other than the loopback names are
refused while the app listens on a loopback address, so a web page cannot reach it
through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from importlib import resources
from pathlib import Path

from .._version import __version__
from ..datasets import SAMPLES, sample_path
from ..io import info
from .workspace import CLIPS, TARGET_RATES, AppError, Workspace, methods

__all__ = ["create_app", "serve", "bind"]

log = logging.getLogger("audiosr.app")

_STATIC = Path(str(resources.files("audiosr.app") / "static"))
_CSP = (
    "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "[::1]"]


class _SecurityHeaders:
    """Adds the CSP and friends to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", _CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: The most of an unread request body read and dropped before an answer (see _DrainUnreadBody).
_DRAIN_LIMIT = 64 * 2**20


class _DrainUnreadBody:
    """Reads the rest of a request body that a handler left unread before its answer starts.

    A handler that answers from the headers alone (an upload over the limit, a name that is
    not audio, a refused request) leaves the body in the connection. The server then closes
    it with data unread, the kernel resets it, and a client still sending (or not done
    reading) gets "connection reset" instead of the error message. Up to ``limit`` bytes are
    read and dropped first; a client that asked ``Expect: 100-continue`` has sent nothing
    yet and is answered at once.
    """

    def __init__(self, app, limit=_DRAIN_LIMIT):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        expects_continue = headers.get(b"expect", b"").lower() == b"100-continue"
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        unread = {"more": has_body and not expects_continue}

        async def tracking_receive():
            message = await receive()
            unread["more"] = message["type"] == "http.request" and message.get("more_body", False)
            return message

        async def draining_send(message):
            if message["type"] == "http.response.start" and unread["more"]:
                # Once the answer has started the server stops handing out the body.
                read = 0
                while unread["more"] and read <= self.limit:
                    read += len((await tracking_receive()).get("body", b""))
            await send(message)

        await self.app(scope, tracking_receive, draining_send)


def _sync_chunks(request):
    """The request body as a plain iterator, for a worker thread (pulls each chunk from the event loop)."""
    import anyio

    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = anyio.from_thread.run(stream.__anext__)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


def create_app(workspace, *, allowed_hosts=None):
    """The Starlette application of ``audiosr app``.

    Parameters
    ----------
    workspace : Workspace
        Where inputs and results live; closed when the application shuts down.
    allowed_hosts : list of str or None
        ``Host`` header values accepted; ``None`` accepts any (the app listens beyond loopback).

    Returns
    -------
    app : starlette.applications.Starlette
    """
    # Imported here, so that the module (and the doctests' collection) needs no extra.
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def _error(message, status=400):
        return JSONResponse({"error": message}, status_code=status)

    async def index(request):
        return FileResponse(_STATIC / "index.html", media_type="text/html")

    async def config(request):
        clips = []
        for name, (sample, factor) in CLIPS.items():
            sr = info(sample_path(sample)).samplerate
            clips.append({"name": name, "sr": sr // factor, "reference_sr": sr, "description": SAMPLES[sample][1]})
        return JSONResponse(
            {
                "version": __version__,
                "clips": clips,
                "methods": methods(),
                "targets": list(TARGET_RATES),
                "max_upload_mb": workspace.max_upload_bytes / 1e6,
            }
        )

    def same_page(request):
        # Another site's page can send a simple POST here, but not one with a custom header: the browser
        # would ask first (CORS), and the app never says yes. So what changes state needs the header.
        if request.headers.get("x-audiosr") != "1":
            raise AppError("requests that change something must come from the app's page (header X-Audiosr: 1).", 403)

    async def upload(request):
        same_page(request)
        name = request.query_params.get("name", "")
        length = request.headers.get("content-length")
        item = await run_in_threadpool(
            workspace.upload, name, _sync_chunks(request), int(length) if length and length.isdigit() else None
        )
        return JSONResponse(item.describe(workspace))

    async def clip(request):
        same_page(request)
        item = await run_in_threadpool(workspace.clip, request.path_params["name"])
        return JSONResponse(item.describe(workspace))

    async def plan(request):
        q = request.query_params
        answer = await run_in_threadpool(workspace.plan, q.get("input", ""), q.get("target"), q.get("method", "auto"))
        return JSONResponse(answer)

    async def run(request):
        same_page(request)
        try:
            body = await request.json()
        except ValueError:
            return _error("the request is not JSON.")
        if not isinstance(body, dict):
            return _error("the request must be a JSON object.")
        job = await run_in_threadpool(
            workspace.submit, str(body.get("input", "")), body.get("target"), str(body.get("method", "auto"))
        )
        return JSONResponse(job.describe())

    async def job(request):
        return JSONResponse(workspace.job(request.path_params["id"]).describe())

    async def file(request):
        path, name, media_type = workspace.file(request.path_params["token"])
        attach = request.query_params.get("download") == "1"
        return FileResponse(
            path, media_type=media_type, filename=name, content_disposition_type="attachment" if attach else "inline"
        )

    async def app_error(request, exc):
        return _error(str(exc), exc.status)

    async def http_error(request, exc):
        return _error(exc.detail or "not found", exc.status_code)

    async def internal_error(request, exc):
        log.exception("request %s failed", request.url.path, exc_info=exc)
        return _error(f"internal error ({type(exc).__name__}: {exc}); the server's console has the details.", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            workspace.close()

    routes = [
        Route("/", index),
        Route("/api/config", config),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/clip/{name}", clip, methods=["POST"]),
        Route("/api/plan", plan),
        Route("/api/run", run, methods=["POST"]),
        Route("/api/jobs/{id}", job),
        Route("/files/{token}/{name}", file),
        Mount("/static", app=StaticFiles(directory=_STATIC), name="static"),
    ]
    middleware = [Middleware(_DrainUnreadBody), Middleware(_SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={AppError: app_error, HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host="127.0.0.1", port=8000):
    """A listening socket on ``host:port`` (port 0: a free one), or an OSError that says what to do."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on '{host}': {exc.strerror} (give an address such as 127.0.0.1).") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}); another program may use the port: "
            "pass --port N, or --port 0 for a free one."
        ) from None
    sock.listen(64)
    return sock


def serve(host="127.0.0.1", port=8000, *, max_upload_mb=500.0, echo=print):
    """Serve the app until Ctrl-C (or SIGTERM); the temporary files are deleted on the way out.

    Parameters
    ----------
    host : str, default="127.0.0.1"
        Address to listen on. The default is reachable from this computer only; ``0.0.0.0``
        listens on every network interface (anyone who reaches it can upload and run jobs).
    port : int, default=8000
        TCP port; 0 picks a free one (printed).
    max_upload_mb : float, default=500
        Largest upload accepted, in megabytes.
    echo : callable, default=print
        Where the address is announced.
    """
    import uvicorn

    sock = bind(host, port)
    workspace = Workspace(max_upload_mb=max_upload_mb)
    loopback = _is_loopback(host)
    app = create_app(workspace, allowed_hosts=_LOOPBACK_NAMES if loopback else None)
    shown = f"[{host}]" if ":" in host else host
    echo(f"audiosr app: serving on http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C stops it)")
    if not loopback:
        echo(
            f"audiosr app: warning: listening on {host}, beyond this computer: anyone who can reach it can upload "
            "files and run jobs; there is no login."
        )
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        workspace.close()
