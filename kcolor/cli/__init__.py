"""The ``kcolor`` console command: one module per command, each with ``add_parser`` and
``run``; options several commands share are in :mod:`kcolor.cli.options`.

Command modules import only the standard library and kcolor's errors at the top, so
``kcolor --help`` answers at once; TensorFlow loads when a command runs.
"""

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence

from kcolor.cli import app, client, colorize, evaluate, export, tfrecords, train
from kcolor.errors import KcolorError

# The commands in the order ``kcolor --help`` lists them.
COMMANDS = {
    "make-tfrecords": tfrecords,
    "colorize": colorize,
    "evaluate": evaluate,
    "train": train,
    "export": export,
    "client": client,
    "app": app,
}


def build_parser() -> argparse.ArgumentParser:
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog="kcolor",
        description="Automatic colorization of grayscale photographs (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"kcolor {__version__}")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up lines (also: KCOLOR_VERBOSE=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kcolor`` command; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from kcolor import startup

    startup.load_tensorflow(args.verbose)
    try:
        with _stopping_on(STOP_SIGNALS):
            return COMMANDS[args.command].run(args)
    except (KcolorError, FileNotFoundError, FileExistsError) as error:
        # kcolor's own errors say what is wrong and with which file; anything else is a
        # bug and keeps its traceback.
        print(f"kcolor {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Stopped as stop:
        print(f"kcolor {args.command}: stopped by {stop.name}", file=sys.stderr)
        return 128 + stop.signal_number
    except KeyboardInterrupt:
        print(f"kcolor {args.command}: interrupted", file=sys.stderr)
        return 130


STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Stopped(KeyboardInterrupt):
    """A stop signal, raised where the main thread is, so that everything that cleans up
    after Ctrl-C (temporary outputs removed, the pipeline's threads stopped) does so."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number
        self.name = signal.Signals(signal_number).name


@contextlib.contextmanager
def _stopping_on(names):
    """Turn the signals ``names`` into :class:`Stopped` while the block runs (signal
    handlers can only be set from the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signal_number, frame):
        raise Stopped(signal_number)

    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
