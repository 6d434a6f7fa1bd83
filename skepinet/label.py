"""``skepinet label``: label a file of texts in the browser, the epinet choosing what to ask.

::

    skepinet label reviews.csv --text-column text --labels pos,neg
    python -m skepinet.label reviews.csv --text-column text --labels pos,neg

starts a web server on 127.0.0.1 and prints its address. The page shows the
row the learner picked (an epinet on the offline MiniLM, frozen, by default),
a button per label (keys 1-9), *skip* (s) and *undo* (u), progress, and
after enough labels a small learning curve and the model's confidence on the
row shown. Every answer is journalled (fsynced) before the page moves on:
closing the browser or killing the server loses nothing, and the same
command resumes. ``--export`` writes the labels as CSV and the fitted
estimator in the safe checkpoint format.

The server is Starlette on uvicorn: a small, well-kept ASGI stack whose
server is meant for real use (no "development server" caveat), and whose
pages and JSON routes take a few lines each. It listens on loopback only;
another ``--host`` needs ``--allow-remote`` and then every request must carry
the token printed at start.
"""

import argparse
import hmac
import ipaddress
import logging
import secrets
import shlex
import socket
import sys
from importlib import resources

from .labelling import (
    ESTIMATORS,
    LabellingError,
    LabellingSession,
    StaleRowError,
    make_text_estimator,
)
from .priorities import PRIORITIES

__all__ = ["create_app", "main"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_PAGE_TYPES = {"index.html": "text/html; charset=utf-8", "label.js": "text/javascript",
               "label.css": "text/css"}
# No inline script, no other origin: even a text that slipped past textContent could not run.
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; "
                                "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _require_server():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError("skepinet label needs its web server: pip install "
                          "'skepinet[label]' (starlette, uvicorn, pandas).") from exc


def _page_file(name):
    return resources.files("skepinet").joinpath("label_page", name).read_bytes()


def is_loopback(host):
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def export_command(session):
    """The command line that exports ``session``'s labels and model."""
    parts = ["skepinet", "label", session.data, "--text-column", session.text_column]
    if session.pair_column is not None:
        parts += ["--pair-column", session.pair_column]
    parts += ["--labels", ",".join(session.labels), "--out", session.out, "--export"]
    return shlex.join(parts)


class _TokenCheck:
    """ASGI middleware: refuse every request without the session's token (403)."""

    def __init__(self, app, token):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._carries_token(scope):
            from starlette.responses import JSONResponse

            response = JSONResponse({"error": "this server needs the token printed at its "
                                              "start: open the address it printed."},
                                    status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _carries_token(self, scope):
        from starlette.datastructures import Headers, QueryParams

        given = (Headers(scope=scope).get("x-skepinet-token")
                 or QueryParams(scope.get("query_string", b"")).get("token") or "")
        return hmac.compare_digest(given.encode(), self.token.encode())


def create_app(session, token=None, allowed_hosts=LOOPBACK_NAMES):
    """The Starlette application serving ``session``.

    Parameters
    ----------
    session : LabellingSession
    token : str or None (default=None)
        When given, every request must carry it (``?token=`` or the
        ``X-Skepinet-Token`` header).
    allowed_hosts : sequence of str (default: loopback names)
        Host headers accepted (``["*"]`` for any): a page on another site
        cannot reach a loopback server through DNS rebinding.

    Returns
    -------
    app : starlette.applications.Starlette
    """
    _require_server()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    command = export_command(session)

    def reply(state, status=200):
        return JSONResponse({**state, "export_command": command}, status_code=status,
                            headers=_SECURITY_HEADERS)

    def refuse(message, status):
        return JSONResponse({"error": message}, status_code=status, headers=_SECURITY_HEADERS)

    async def page(request):
        name = request.path_params.get("name", "index.html")
        if name not in _PAGE_TYPES:
            return refuse(f"no page {name!r}", 404)
        return Response(_page_file(name), media_type=_PAGE_TYPES[name],
                        headers=_SECURITY_HEADERS)

    async def no_icon(request):
        return Response(status_code=204)

    async def body_of(request):
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise LabellingError("the request body must be a JSON object.")
        return body

    def row_of(body):
        row = body.get("row")
        if isinstance(row, bool) or not isinstance(row, int):
            raise LabellingError(f"row must be an integer, got {row!r}.")
        return row

    async def handle(request, action):
        # The journal's fsync blocks: off the event loop, so other requests go on.
        try:
            state = await run_in_threadpool(action, await body_of(request)
                                            if request.method == "POST" else None)
        except LabellingError as error:
            return refuse(str(error), 409 if isinstance(error, StaleRowError) else 400)
        return reply(state)

    async def state(request):
        return await handle(request, lambda body: session.state())

    async def answer(request):
        return await handle(request, lambda body: session.answer(row_of(body), body.get("label")))

    async def skip(request):
        return await handle(request, lambda body: session.skip(row_of(body)))

    async def undo(request):
        return await handle(request, lambda body: session.undo())

    routes = [
        Route("/", page),
        Route("/static/{name}", page),
        Route("/favicon.ico", no_icon),
        Route("/api/state", state),
        Route("/api/answer", answer, methods=["POST"]),
        Route("/api/skip", skip, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    if token is not None:
        middleware.append(Middleware(_TokenCheck, token=token))
    return Starlette(routes=routes, middleware=middleware)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skepinet label",
        description="Label a file of texts in the browser, the epinet choosing what to ask.",
        epilog="Answers are saved as they are given; run the same command to resume.")
    parser.add_argument("data", metavar="DATA", help="CSV, TSV, JSON lines or Parquet file")
    parser.add_argument("--text-column", default="text", help="column of the texts (default: text)")
    parser.add_argument("--pair-column", default=None,
                        help="column of second sentences, for sentence-pair tasks")
    parser.add_argument("--labels", required=True, help="comma-separated label names, e.g. pos,neg")
    parser.add_argument("--out", default=None,
                        help="session folder (default: DATA's name + '.labels', beside it)")
    parser.add_argument("--budget", type=int, default=200, help="labels to ask for (default: 200)")
    parser.add_argument("--estimator", choices=sorted(ESTIMATORS), default="epinet",
                        help="model choosing the rows (default: epinet)")
    parser.add_argument("--strategy", choices=sorted(PRIORITIES), default="variance",
                        help="priority ranking the candidates (default: variance)")
    parser.add_argument("--model", default=None,
                        help="Hugging Face model name or folder (default: the offline MiniLM)")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per text (default: 64)")
    parser.add_argument("--retrain-every", type=int, default=10,
                        help="answers between background refits (default: 10)")
    parser.add_argument("--candidates", type=int, default=256,
                        help="rows scored at each refit (default: 256)")
    parser.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 for any free one)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --host other than loopback (requests then need a token)")
    parser.add_argument("--export", action="store_true",
                        help="write labels.csv and model.skepinet to the session folder and exit")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    return parser


def _open_session(args):
    out = args.out if args.out is not None else args.data + ".labels"
    labels = args.labels.split(",")
    # The session checks the labels and sets them as the estimator's classes.
    estimator = make_text_estimator(args.estimator, labels=labels, pretrained=args.model,
                                    max_length=args.max_length, random_state=args.random_state)
    return LabellingSession(args.data, out, text_column=args.text_column, labels=labels,
                            pair_column=args.pair_column, estimator=estimator,
                            strategy=args.strategy, budget=args.budget,
                            retrain_every=args.retrain_every, candidate_size=args.candidates,
                            random_state=args.random_state, background=not args.export)


def _bind(parser, host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        parser.error(f"cannot listen on {host}:{port} ({error.strerror}); pass another --port "
                     "(0 for any free one).")
    sock.listen(128)
    return sock


def main(argv=None):
    """Entry point of ``skepinet label`` and ``python -m skepinet.label``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        parser.error(f"--host {args.host} is reachable from other machines; pass "
                     "--allow-remote as well (every request then needs the printed token), "
                     "or keep the default 127.0.0.1.")
    if not args.export:
        try:
            _require_server()
        except ImportError as error:
            parser.error(str(error))
    logging.basicConfig(format="skepinet label: %(message)s", level=logging.WARNING)
    try:
        session = _open_session(args)
    except (LabellingError, ImportError) as error:
        parser.error(str(error))
    try:
        if args.export:
            csv_path, model_path = session.export()
            print(f"{len(session.answers_in_order())} labels written to {csv_path}")
            if model_path is not None:
                print(f"model (load with skepinet.load_estimator) written to {model_path}")
            return 0
        return _serve(parser, args, session, remote)
    finally:
        session.close()


def _serve(parser, args, session, remote):
    import uvicorn

    token = secrets.token_urlsafe(24) if remote else None
    sock = _bind(parser, args.host, args.port)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    address = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    app = create_app(session, token=token, allowed_hosts=["*"] if remote else LOOPBACK_NAMES)
    print(f"skepinet label: {len(session.texts)} rows, {len(session.answers_in_order())} "
          f"labelled so far; answers are saved in {session.journal_path}", flush=True)
    print(f"Open {address}  (Ctrl-C to stop; run the same command to resume)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(address)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
