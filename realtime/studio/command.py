"""``swapcam studio``: ``swapcam live``'s options, plus where the page may find models, media and write
recordings and presets, and where it listens.

Imports only the standard library and realtime at module level: ``swapcam --help`` works without the
``studio`` extra, and ``swapcam studio`` without it says which extra to install.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import secrets
import socket
import sys
import webbrowser
from pathlib import Path

from ..cli import LiveCommand, live_config
from ..core.errors import UserError

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StudioCommand:
    help = "stream like live, with a control panel in the browser: preview, every setting, presets, recording"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        LiveCommand().add_arguments(parser)
        studio = parser.add_argument_group("studio")
        studio.add_argument("--models", metavar="DIR", help="folder of models the page may switch to")
        studio.add_argument(
            "--media", metavar="DIR", help="folder of video files and photo folders the page may stream"
        )
        studio.add_argument(
            "--recordings", metavar="DIR", default="recordings", help="where recordings and snapshots go"
        )
        studio.add_argument("--presets", metavar="DIR", default="presets", help="where presets are saved and loaded")
        studio.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
        )
        studio.add_argument("--port", type=int, default=8765, help="port to listen on (0 = any free port)")
        studio.add_argument(
            "--token",
            help="the page's access token (default: a random one); required with a --host other than loopback",
        )
        studio.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")

    def run(self, args: argparse.Namespace) -> int:
        try:
            import starlette  # noqa: F401
            import uvicorn
        except ImportError:
            raise UserError("swapcam studio needs its web server: pip install 'swapcam[studio]'") from None
        from ..run.demo import DEMO_MODEL
        from ..sinks.kinds import has_display, output_kind
        from .folders import Folders
        from .server import build_app
        from .session import DEMO, Session, Wanted

        token = self._token(args)
        outputs = tuple(args.output or ["null"])
        for spec in outputs:
            if output_kind(spec).main_thread:
                raise UserError(f"--output {spec}: the studio shows the stream in the page; drop it")
        model = Path(args.model) if args.model else DEMO_MODEL
        if not model.is_file():
            raise UserError(f"model file {model} does not exist: check the path given to --model")
        folders = Folders(
            models=self._folder(args.models, "--models"),
            media=self._folder(args.media, "--media"),
            recordings=Path(args.recordings),
            presets=Path(args.presets),
        )
        wanted = Wanted(args.input, model, model.name if args.model else DEMO, outputs)
        sock = self._listen(args.host, args.port)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{port}/?token={token}"
        session = Session(
            wanted, live_config(args), folders, args.report, log=lambda line: print(line, file=sys.stderr)
        )
        session.start()
        print(f"swapcam studio: open {address}", flush=True)
        if not args.no_browser and has_display():
            webbrowser.open(address)
        server = uvicorn.Server(uvicorn.Config(build_app(session, token), log_level="warning", access_log=False))
        try:
            server.run(sockets=[sock])
        finally:
            session.close()
        return 0

    @staticmethod
    def _token(args: argparse.Namespace) -> str:
        if args.token is not None:
            if not TOKEN.fullmatch(args.token):
                raise UserError("--token must be 16 to 128 letters, digits, '-' or '_': give a longer token")
            return args.token
        if not is_loopback(args.host):
            raise UserError(
                f"--host {args.host} lets other machines reach the page: give a --token of 16+ characters too"
            )
        return secrets.token_urlsafe(24)

    @staticmethod
    def _folder(value: str | None, flag: str) -> Path | None:
        if value is None:
            return None
        folder = Path(value)
        if not folder.is_dir():
            raise UserError(f"{flag} {folder} is not a folder: give an existing folder")
        return folder

    @staticmethod
    def _listen(host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise UserError(
                f"cannot listen on {host}:{port} ({err.strerror}): choose another --port or --host"
            ) from None
        sock.listen(64)
        return sock
