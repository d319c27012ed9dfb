"""``kcolor app``: serve the local web page."""

import argparse
import sys

from kcolor.cli import options


def add_parser(commands) -> None:
    from kcolor.app import DEFAULT_PORT

    app = commands.add_parser(
        "app",
        help="a local web page: drop photos, see and download the colourings",
        description="Serve a web page for colorizing photos (needs pip install "
        '"kcolor[app]"). It listens on 127.0.0.1 (this computer only) unless --host says '
        "otherwise; photos never leave the computer that runs it. Ctrl-C stops it.",
    )
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    app.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    app.add_argument(
        "--model",
        action="append",
        default=[],
        help="a .keras or .tflite model file to offer beside the bundled ones (repeatable)",
    )
    app.add_argument(
        "--max-upload-mb", type=float, default=50, help="largest upload accepted (50 MB)"
    )
    app.add_argument("--max-files", type=int, default=100, help="files per drop (100)")
    options.add_max_pixels(app)


def run(args: argparse.Namespace) -> int:
    import time

    from kcolor.app import running_app

    with running_app(
        args.host,
        args.port,
        args.model,
        args.max_upload_mb,
        options.max_pixels(args),
        args.max_files,
    ) as app:
        print(f"kcolor app: serving {app.address} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("kcolor app: stopped", file=sys.stderr)
    return 0
