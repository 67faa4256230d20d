"""``backprop86 serve [--port P] [--host H] [--open]``: the local web page that trains in
front of you (:mod:`backprop86.serve`; needs the ``ui`` extra)."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import webbrowser

from backprop86.cli.args import UsageError, nonnegative_int

#: The port when none is given (86 for 1986, above the ports that need privileges).
DEFAULT_PORT = 8686


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web page that trains networks in front of you",
        description="Start a local web server with a page that trains any backprop86 network "
        "(the shipped experiments, 2-D point sets, your CSV data) and shows it learning: the "
        "error curve, the network's weights and activity, decision surfaces, one update of "
        "eqs. (1)-(9) with the numbers filled in, many seeds at once, the 1986 claims beside "
        "the measured ones. Needs the ui extra: pip install 'backprop86[ui]'. Ctrl-C stops it.",
    )
    p.add_argument("--port", type=nonnegative_int, default=DEFAULT_PORT, metavar="P",
                   help=f"the port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="H",
                   help="the address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--open", action="store_true", help="open the page in the web browser")


def main(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from backprop86.serve.app import create_app
    except ImportError as exc:
        raise UsageError(f"serve needs the ui extra ({exc.name} is not installed); install it "
                         "with: pip install 'backprop86[ui]'", "backprop86 serve") from None
    if args.port > 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}", "backprop86 serve")
    if not args.host.strip():
        raise UsageError("--host must name an address to listen on (127.0.0.1 by default; "
                         "0.0.0.0 for every address of this machine)", "backprop86 serve")
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    local = args.host in ("127.0.0.1", "localhost", "::1")
    if not local:
        print(f"backprop86 serve: warning: listening on {args.host}, not 127.0.0.1: other "
              "machines that reach this address can use the page and train on this one",
              file=sys.stderr)
    url = f"http://{shown if local else '127.0.0.1'}:{port}/"
    hosts = () if local else (args.host, *_names_of_this_machine(args.host))
    app = create_app(port=port, hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", ws_max_size=65_536 * 2,
                            lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    print(f"backprop86 serve: the page is at {url}  (Ctrl-C stops the server)", flush=True)
    if args.open:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises Ctrl-C again once it has shut down
        pass
    finally:
        sock.close()
    print("backprop86 serve: stopped; every run ended", file=sys.stderr)
    return 0


def _names_of_this_machine(host: str) -> tuple[str, ...]:
    """The names other machines may use for this one when it listens on every address
    (``0.0.0.0``, ``::``): its host name, fully qualified name and their addresses; none for
    a named address (requests must name it)."""
    if host not in ("0.0.0.0", "::"):
        return ()
    names = {socket.gethostname(), socket.getfqdn()}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # the address this machine's route out uses (connecting UDP sends nothing)
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1, never routed to a real host
        names.add(probe.getsockname()[0])
    except OSError:
        pass  # no route out: the names above still serve
    finally:
        probe.close()
    for name in list(names):
        try:
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            continue  # a name this machine cannot resolve: the others still serve
    return tuple(sorted(n for n in names if n))


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (one clear line when it cannot be)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another "
                         "--port (0 picks a free one) or --host", "backprop86 serve") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock
